"""End-to-end studies: configuration in, results out."""

from robusthep.studies.decorrelation import (
    DecorrelationStudyConfig,
    pareto_front,
    run_decorrelation_study,
)

__all__ = ["DecorrelationStudyConfig", "pareto_front", "run_decorrelation_study"]
