"""The Jinja2 environment every page, partial and e-mail renders through."""

from __future__ import annotations

from django.template import engines
from jinja2 import Environment

from jobline.templating import Jinja2


def _environment() -> Environment:
    backend = next(engine for engine in engines.all() if isinstance(engine, Jinja2))
    return backend.env


def test_a_template_reads_the_environments_globals_and_its_own_win() -> None:
    env = _environment()
    template = env.from_string(
        "{{ url('dashboard') }} {{ shade }} {{ range(2)|list }}", globals={"shade": "teal"}
    )
    assert template.render() == "/dashboard/ teal [0, 1]"
    overriding = env.from_string("{{ url }}", globals={"url": "mine"})
    assert overriding.render() == "mine"
    # The override stays that template's: the environment's url() is untouched.
    assert env.from_string("{{ url('dashboard') }}").render() == "/dashboard/"


def test_a_templates_globals_are_one_plain_dict() -> None:
    # Jinja's default, a ChainMap over the environment's globals, is copied key by key for
    # every render and include (about 8 µs each, ~50 times on a job page: bench/README.md).
    env = _environment()
    template = env.get_template("includes/chips.html")
    assert type(template.globals) is dict
    assert template.globals["money"] is env.globals["money"]
