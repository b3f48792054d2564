import pytest

from robusthep import errors


@pytest.mark.parametrize("name", errors.__all__)
def test_every_error_is_a_robusthep_error_with_a_docstring(name):
    cls = getattr(errors, name)
    assert issubclass(cls, errors.RobustHEPError)
    assert cls.__doc__ and cls.__doc__.strip()


def test_user_input_errors_are_value_errors():
    assert issubclass(errors.ConfigError, ValueError)
    assert issubclass(errors.DataError, ValueError)
