import importlib
import re

from django.conf import settings


def test_home_renders(client, db):
    response = client.get("/")
    assert response.status_code == 200


def resolves(dotted):
    """Whether ``dotted`` names a module of the project or something in one."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            if not hasattr(found, name):
                return False
            found = getattr(found, name)
        return True
    return False


def test_the_code_bench_readme_names_is_there():
    """bench/README.md says which function each benchmark measures, by its dotted path."""
    text = (settings.BASE_DIR / "bench" / "README.md").read_text()
    named = set(re.findall(r"`((?:portal|onboarding|verification|monitoring|api)(?:\.\w+)+)", text))
    assert "onboarding.approval.deadlines.deadline_sweep" in named
    assert [name for name in sorted(named) if not resolves(name)] == []
