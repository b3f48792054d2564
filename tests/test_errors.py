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


def test_atomic_files_get_the_usual_permissions(tmp_path):
    import os

    from robusthep.atomic import atomic_directory, atomic_write_text

    mask = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "a.txt", "x")
        with atomic_directory(tmp_path / "d") as folder:
            (folder / "f").write_text("y")
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o755
