"""The settings of a model trained on the user's own table: :class:`TrainConfig`."""

from collections.abc import Mapping
from typing import Any, Literal, Self

import pydantic
from pydantic import BaseModel, ConfigDict, Field, model_validator

from robusthep.errors import ConfigError

__all__ = ["DECORRELATION_CHOICES", "TrainConfig"]

#: The decorrelation methods ``TrainConfig.method`` takes: MoDe of order 0 (flat), 1
#: (linear) or 2 (quadratic), DisCo, or an adversary (learning to pivot).
DECORRELATION_CHOICES = ("mode0", "mode1", "mode2", "disco", "adversary")


class TrainConfig(BaseModel):
    """What ``robusthep train`` (and :func:`~robusthep.user.train_model`) trains.

    Features are standardised with the training part's mean and standard deviation, so
    ``lipschitz`` bounds every |∂f/∂xᵢ| of the network in units of the output per standard
    deviation of feature i. With monotonic features the network is wrapped as
    g(x) = f(x) + λ·Σ sᵢxᵢ, monotonic by construction. A classifier outputs a probability
    (the sigmoid of g), a regressor the target in its own units. The certified Lipschitz
    bound of the whole saved model, in raw feature units, is computed from its weights.

    Example:
        >>> config = TrainConfig.create(target="label", features=["pt", "chi2"],
        ...                             decreasing=["chi2"])
        >>> config.task, config.hidden, config.epochs
        ('classify', (64, 64), 50)
        >>> TrainConfig.create(target="label", features=["pt"], increasing=["eta"])
        Traceback (most recent call last):
        ...
        robusthep.errors.ConfigError: invalid TrainConfig from arguments: increasing lists \
'eta', which is not a feature; the features are pt

    References:
        Kitouni, Nolte, Williams, "Expressive Monotonic Neural Networks", ICLR 2023,
        arXiv:2307.07512; decorrelation: MoDe arXiv:2010.09745, DisCo arXiv:2001.05310,
        adversary arXiv:1611.01046.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    target: str = Field(description="the column to predict: 0/1 for classify, a number for regress")
    features: tuple[str, ...] = Field(min_length=1, description="the input columns")
    weights: str | None = Field(None, description="a column of per-row weights")
    task: Literal["classify", "regress"] = "classify"
    increasing: tuple[str, ...] = ()
    decreasing: tuple[str, ...] = ()
    lipschitz: float = Field(1.0, gt=0, description="λ per standard deviation of a feature")
    hidden: tuple[int, ...] = Field((64, 64), min_length=1)
    group_size: int = Field(2, ge=2)
    decorrelate: str | None = Field(None, description="a protected column (classify only)")
    method: Literal["mode0", "mode1", "mode2", "disco", "adversary"] = "mode0"
    lam: float = Field(10.0, ge=0, description="the decorrelation strength λ")
    val: float = Field(0.2, gt=0, lt=1, description="validation fraction")
    seed: int = 0
    epochs: int = Field(50, ge=1)
    batch_size: int = Field(256, ge=2)
    lr: float = Field(1e-3, gt=0)
    patience: int | None = Field(None, ge=1, description="early stopping; None: never")
    audit_pairs: int = Field(1024, ge=2, description="pairs per check when re-verifying")
    audit_steps: int = Field(20, ge=0, description="adversarial search steps when re-verifying")

    @classmethod
    def create(cls, source: str = "arguments", **values: Any) -> Self:
        """Validate ``values``; a bad or unknown key raises ``ConfigError`` naming it.

        Arguments:
            source: where the values came from, named in the error (a file, "options").
            values: the fields.
        """
        try:
            return cls.model_validate(values)
        except pydantic.ValidationError as error:
            raise _error(error, source) from None

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], source: str = "arguments") -> Self:
        """Like :meth:`create`, from a mapping (e.g. a TOML table)."""
        return cls.create(source, **dict(values))

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        features = list(self.features)
        repeated = sorted({name for name in features if features.count(name) > 1})
        if repeated:
            raise ValueError(f"features lists {repeated} more than once")
        for role in ("increasing", "decreasing"):
            for name in getattr(self, role):
                if name not in features:
                    raise ValueError(
                        f"{role} lists {name!r}, which is not a feature; the features are "
                        f"{', '.join(features)}"
                    )
        both = sorted(set(self.increasing) & set(self.decreasing))
        if both:
            raise ValueError(f"{both} are listed as both increasing and decreasing")
        for role in ("target", "weights", "decorrelate"):
            name = getattr(self, role)
            if name is not None and name in features:
                raise ValueError(
                    f"the {role} column {name!r} is also a feature; a model must not see it"
                )
        if self.decorrelate is not None and self.task != "classify":
            raise ValueError("decorrelate applies to classifiers only (task = 'classify')")
        bad = [width for width in self.hidden if width < 1 or width % self.group_size]
        if bad:
            raise ValueError(
                f"hidden widths {bad} are not positive multiples of group_size={self.group_size}"
            )
        return self

    @property
    def monotonic(self) -> bool:
        """Whether any feature is monotonic."""
        return bool(self.increasing or self.decreasing)


def _error(error: pydantic.ValidationError, source: str) -> ConfigError:
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"])
        if item["type"] == "extra_forbidden":
            valid = ", ".join(TrainConfig.model_fields)
            lines.append(f"unknown key {where!r}; valid keys: {valid}")
        elif item["type"] == "value_error":
            lines.append(str(item["msg"]).removeprefix("Value error, "))
        else:
            lines.append(f"{where or '(top level)'} = {item.get('input')!r}: {item['msg']}")
    return ConfigError(f"invalid TrainConfig from {source}: " + "; ".join(lines))
