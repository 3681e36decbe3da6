"The installed package from the outside: the public import, the callback on vision-free and tabular Learners."
import pytest, runtime_checks


@pytest.mark.parametrize('check', runtime_checks.ALL, ids=lambda f: f.__name__)
def test_runtime(check): check()
