"""Query shapes compiled to SQL once, then run with each request's values.

Django compiles every queryset to SQL anew on every request. On the job page that was 3.6 ms
of 12 (bench/README.md, "Issue 9, third sitting"): more than SQLite took to answer all of
its queries. A ``PreparedQuery`` wraps a function that builds a queryset from its arguments
(through the models' own ``visible_to`` rules: the rule stays in one place) and remembers the
SQL of each *shape* of those arguments.

How a shape is found. Each argument is replaced by a template: every distinct integer (an
id, a number) by a placeholder integer no real query would hold, equal integers of the same
space (ids of workspaces, of customers, of users…) by the same placeholder; datetimes
likewise; ``None``, booleans and short strings stay themselves and are part of the shape.
Viewers (dataclasses) are templated field by field; model instances by their integer, boolean
and empty fields and their cached related objects (a job's customer-visible stage), while
their text, dates and JSON are left at the model's defaults. The builder runs once on the
templates; its SQL is compiled; each placeholder is found among the parameters. Later calls
with the same shape bind their own values in those places and run the same SQL through the
ORM's own row handling (``select_related``, annotations, converters), so what comes back is
what the plain queryset would have returned.

Because equal ids share a placeholder, a builder's Python comparisons (``job.workspace_id
!= viewer.workspace_id``, ``customer_id is None``) take the same branch on the templates as
on the real values. A builder must not read the clock (pass ``now``) or anything else that is
not an argument. With ``JOBLINE_CHECK_PREPARED_QUERIES`` on (the test suite turns it on),
every call also builds and compiles the plain queryset and raises ``PreparedQueryMismatch``
when its SQL or parameters differ: each of the suite's tests checks every prepared query it
touches.

What is remembered is SQL text derived from the code, the same in every process: no data,
nothing that could go stale (ARCHITECTURE.md: no in-memory state shared across requests).
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections, models
from django.db.models import QuerySet

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Placeholders: inside a 32-bit column's range (Django drops an out-of-range comparison from
# the SQL), far above any id or number a workspace reaches, and not a constant of any query.
_INT_BASE = 1_987_654_000
_DT_BASE = dt.datetime(1001, 1, 1, tzinfo=dt.UTC)
_TEXT_MARK = "\x1fprepared-slot-"
_MAX_SHAPE_STRING = 40
# Distinct shapes remembered per query; beyond it a call runs the plain queryset.
MAX_SHAPES = 256


class PreparedQueryMismatch(AssertionError):
    """The prepared SQL is not what the plain queryset compiles to (a builder that reads
    something other than its arguments)."""


class NotPreparable(TypeError):
    """An argument (or a compiled query) this module cannot template."""


@dataclass(frozen=True, slots=True)
class _Slot:
    """Where a parameter comes from: the ``index``-th distinct value; ``adapt``: the
    database's adaptation of a datetime or date that the compiled SQL holds as text."""

    index: int
    adapt: str = ""
    # The integer type the database backend wrapped it in (psycopg's Int4 for an integer
    # column, with server-side binding): the value is wrapped alike.
    wrap: type | None = None


@dataclass(slots=True)
class _Shape:
    queryset: QuerySet[Any]
    compiler: Any
    sql: str
    plan: tuple[Any, ...]  # per parameter: a constant, or a _Slot
    # The row converters of the select list, for the connection they were asked of: Django
    # asks each backend and field again on every evaluation (a tenth of a small page's ORM
    # time), though they depend on nothing but the compiled select and the connection.
    converters: tuple[Any, dict[int, Any]] | None = None

    def converters_for(self, compiler: Any) -> dict[int, Any]:
        known = self.converters
        if known is None or known[0] is not compiler.connection:
            fields = [each[0] for each in compiler.select[0 : compiler.col_count]]
            known = self.converters = (compiler.connection, compiler.get_converters(fields))
        return known[1]


_UNPREPARABLE = object()
# A shape whose queryset is empty by its rule (``visible_to`` of a viewer who sees none): no
# query runs.
_EMPTY = object()


class _Values:
    """The distinct values of one call, in first-seen order, and their placeholders. Values
    are told apart within their *space*: what they number (ids of workspaces, of users…), so
    a user id equal to a stage id by chance makes no new shape."""

    __slots__ = ("by_value", "values")

    def __init__(self) -> None:
        self.by_value: dict[Any, int] = {}
        self.values: list[Any] = []

    def index(self, value: Any, space: str) -> int:
        key = (space, type(value), value)
        found = self.by_value.get(key)
        if found is None:
            found = self.by_value[key] = len(self.values)
            self.values.append(value)
        return found


def _space_of_name(name: str) -> str:
    """An argument's or a dataclass field's space: ``workspace_id`` numbers workspaces,
    ``stage_ids`` stages; any other name is a space of its own."""
    for suffix in ("_ids", "_id"):
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def _model_fields(model: type[models.Model]) -> tuple[tuple[str, str], ...]:
    """Each concrete field's attribute and space: the primary key numbers its model, a
    foreign key the model it points at (Job.owner: users), any other field is its own."""
    cached = _MODEL_FIELDS.get(model)
    if cached is None:
        found = []
        for field in model._meta.concrete_fields:
            if field.primary_key:
                space = model._meta.model_name
            elif field.is_relation:
                space = field.related_model._meta.model_name
            else:
                space = f"{model._meta.label}.{field.attname}"
            found.append((field.attname, space))
        cached = _MODEL_FIELDS[model] = tuple(found)
    return cached


_MODEL_FIELDS: dict[type[models.Model], tuple[tuple[str, str], ...]] = {}
# How deep a model's cached related objects are followed (a job's customer-visible stage).
_MAX_DEPTH = 2


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, int)


def _model_part(value: models.Model, seen: _Values, depth: int) -> Hashable:
    """A model instance's shape: its integer, boolean and empty fields (ids, numbers,
    positions, flags: what rules compare and filter on) and its cached related objects.
    Text, dates and JSON are not part of it, and the template leaves them at their
    defaults: a builder that used them would fail the check (module docstring). A deferred
    field is read from the instance's __dict__, never through its descriptor, which would
    load it with a query of its own."""
    loaded = value.__dict__
    own = tuple(
        _part(each, seen, space) if _is_scalar(each := loaded.get(name, ...)) else ...
        for name, space in _model_fields(type(value))
    )
    related: tuple[Hashable, ...] = ()
    if depth < _MAX_DEPTH:
        cache = value._state.fields_cache
        related = tuple(
            (name, None if cache[name] is None else _model_part(cache[name], seen, depth + 1))
            for name in sorted(cache)
        )
    return (type(value), own, related)


def _model_template(value: models.Model, seen: _Values, depth: int) -> models.Model:
    model = type(value)
    loaded = value.__dict__
    template = model(
        **{
            name: _template(each, seen, space)
            for name, space in _model_fields(model)
            if _is_scalar(each := loaded.get(name, ...))
        }
    )
    if depth < _MAX_DEPTH:
        cache = value._state.fields_cache
        for name in sorted(cache):
            related = cache[name]
            template._state.fields_cache[name] = (
                None if related is None else _model_template(related, seen, depth + 1)
            )
    return template


def _part(value: Any, seen: _Values, space: str) -> Hashable:
    """The shape of one argument (hashable), registering its values in ``seen``."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if value <= 0:
            return ("const", value)
        return ("i", seen.index(value, space))
    if isinstance(value, str):
        if len(value) > _MAX_SHAPE_STRING:
            raise NotPreparable("a long string is not a shape: pass it to the plain queryset")
        return ("s", value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise NotPreparable("a naive datetime")
        return ("dt", seen.index(value, space))
    if isinstance(value, dt.date):
        return ("d", seen.index(value, space))
    if isinstance(value, tuple | list | frozenset):
        return ("seq", tuple(_part(each, seen, space) for each in value))
    if isinstance(value, models.Model):
        return _model_part(value, seen, 0)
    if is_dataclass(value) and not isinstance(value, type):
        return (
            type(value),
            tuple(
                _part(getattr(value, f.name), seen, _space_of_name(f.name)) for f in fields(value)
            ),
        )
    raise NotPreparable(f"cannot template a {type(value).__name__}")


def _placeholder(kind: str, index: int) -> Any:
    if kind == "t":
        return f"{_TEXT_MARK}{index}"
    if kind == "i":
        return _INT_BASE + index
    if kind == "dt":
        return _DT_BASE + dt.timedelta(seconds=index)
    return (_DT_BASE + dt.timedelta(days=index)).date()


def _template(value: Any, seen: _Values, space: str) -> Any:
    """The argument with each of its values replaced by its placeholder."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value if value <= 0 else _placeholder("i", seen.index(value, space))
    if isinstance(value, dt.datetime):
        return _placeholder("dt", seen.index(value, space))
    if isinstance(value, dt.date):
        return _placeholder("d", seen.index(value, space))
    if isinstance(value, tuple | list | frozenset):
        return type(value)(_template(each, seen, space) for each in value)
    if isinstance(value, models.Model):
        return _model_template(value, seen, 0)
    if is_dataclass(value) and not isinstance(value, type):
        return replace(
            value,
            **{
                f.name: _template(getattr(value, f.name), seen, _space_of_name(f.name))
                for f in fields(value)
            },
        )
    raise NotPreparable(f"cannot template a {type(value).__name__}")


def _plan(params: Sequence[Any], seen: _Values, sql: str, connection: Any) -> tuple[Any, ...]:
    """Each parameter: a constant, or where a placeholder put it."""
    kinds = {}
    for index, value in enumerate(seen.values):
        if isinstance(value, str):
            kinds[(str, _placeholder("t", index))] = _Slot(index)
        elif isinstance(value, int):
            kinds[(int, _placeholder("i", index))] = _Slot(index)
        elif isinstance(value, dt.datetime):
            placeholder = _placeholder("dt", index)
            kinds[(dt.datetime, placeholder)] = _Slot(index)
            adapted = connection.ops.adapt_datetimefield_value(placeholder)
            kinds[(type(adapted), adapted)] = _Slot(index, "datetime")
        else:
            placeholder = _placeholder("d", index)
            kinds[(dt.date, placeholder)] = _Slot(index)
            adapted = connection.ops.adapt_datefield_value(placeholder)
            kinds[(type(adapted), adapted)] = _Slot(index, "date")
    plan = []
    for param in params:
        try:
            if isinstance(param, int) and not isinstance(param, bool) and type(param) is not int:
                slot = kinds.get((int, int(param)))
                if slot is not None:
                    slot = _Slot(slot.index, wrap=type(param))
            else:
                slot = kinds.get((type(param), param))
        except TypeError:  # an unhashable parameter (a list on PostgreSQL)
            raise NotPreparable("an unhashable parameter") from None
        if slot is None and isinstance(param, str) and _holds_placeholder(param):
            raise NotPreparable("a placeholder inside a longer parameter (a LIKE pattern)")
        plan.append(param if slot is None else slot)
    if _holds_placeholder(sql):
        raise NotPreparable("a placeholder written into the SQL text")
    return tuple(plan)


def _holds_placeholder(text: str) -> bool:
    return str(_INT_BASE)[:6] in text or "1001-01" in text or _TEXT_MARK in text


class _BoundQuery:
    """Stands in for ``query.get_compiler`` on one evaluation: the shape's compiler, on this
    thread's connection, answering ``as_sql`` with this call's parameters."""

    __slots__ = ("alias", "params", "shape")

    def __init__(self, shape: _Shape, params: tuple[Any, ...], alias: str) -> None:
        self.shape, self.params, self.alias = shape, params, alias

    def __call__(
        self, using: str | None = None, connection: Any = None, elide_empty: bool = True
    ) -> Any:
        shape = self.shape
        compiler = copy.copy(shape.compiler)
        compiler.connection = connection or connections[using or self.alias]
        sql, params = shape.sql, self.params
        compiler.as_sql = lambda *args, **kwargs: (sql, params)
        converters = shape.converters_for(compiler)
        compiler.get_converters = lambda expressions: converters
        return compiler


class PreparedQuery(Generic[T]):
    """``build(**arguments)`` → a queryset; ``.list(**arguments)`` → its rows, compiled once
    per shape of the arguments (module docstring)."""

    def __init__(
        self,
        build: Callable[..., QuerySet[Any]],
        *,
        name: str,
        constants: tuple[str, ...] = (),
        texts: tuple[str, ...] = (),
    ) -> None:
        """``constants``: the arguments that are part of the shape as they are (a page size:
        SQL writes LIMIT into its text). ``texts``: string arguments that are values, not
        shapes (a session key); other strings are part of the shape (a role, a filter)."""
        self.build = build
        self.name = name
        self.constants = frozenset(constants)
        self.texts = frozenset(texts)
        self._shapes: dict[Hashable, Any] = {}
        self._lock = threading.Lock()

    def list(self, **arguments: Any) -> list[T]:
        """The rows, as ``list(build(**arguments))`` returns them."""
        found = self._bound(arguments, counting=False)
        if found is None:
            return list(self.build(**arguments))
        shape, params, alias = found
        if shape is _EMPTY:
            return []
        queryset = shape.queryset._chain()
        queryset.query.get_compiler = _BoundQuery(shape, params, alias)  # type: ignore[method-assign]
        return list(queryset)

    def raw_rows(self, **arguments: Any) -> list[tuple[Any, ...]]:
        """The rows as the database cursor returns them, without the ORM's conversion of
        each value: for a ``values_list`` of integers read by the thousand."""
        found = self._bound(arguments, counting=False)
        if found is None:
            sql, params = self.build(**arguments).query.sql_with_params()
            alias = "default"
        else:
            shape, params, alias = found
            if shape is _EMPTY:
                return []
            sql = shape.sql
        with connections[alias].cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def count(self, **arguments: Any) -> int:
        """How many rows, as ``build(**arguments).count()`` says: the rows' ids counted
        (``SELECT COUNT(*) FROM (…)``, which both databases flatten into one scan)."""
        found = self._bound(arguments, counting=True)
        if found is None:
            return self.build(**arguments).count()
        shape, params, alias = found
        if shape is _EMPTY:
            return 0
        with connections[alias].cursor() as cursor:
            cursor.execute(shape.sql, params)
            return cursor.fetchone()[0]

    def _bound(
        self, arguments: dict[str, Any], *, counting: bool
    ) -> tuple[Any, tuple[Any, ...], str] | None:
        """The shape of these arguments (prepared now if new) and their parameters; None
        when the plain queryset must answer."""
        seen = _Values()
        try:
            key = tuple(
                (name, self._part(name, value, seen)) for name, value in sorted(arguments.items())
            )
        except NotPreparable:
            return None
        alias = "default"
        key = (alias, counting, key)
        shape = self._shapes.get(key)
        if shape is None:
            shape = self._prepare(key, arguments, alias, counting)
        if shape is _UNPREPARABLE:
            return None
        if shape is _EMPTY:
            if settings.JOBLINE_CHECK_PREPARED_QUERIES:
                self._check(arguments, "", (), alias, counting)
            return shape, (), alias
        values = seen.values
        connection = connections[alias]
        params = tuple(
            step if not isinstance(step, _Slot) else _bind(values[step.index], step, connection)
            for step in shape.plan
        )
        if settings.JOBLINE_CHECK_PREPARED_QUERIES:
            self._check(arguments, shape.sql, params, alias, counting)
        return shape, params, alias

    def _built(self, arguments: dict[str, Any], counting: bool) -> QuerySet[Any]:
        queryset = self.build(**arguments)
        return queryset.order_by().values_list("pk") if counting else queryset

    def _part(self, name: str, value: Any, seen: _Values) -> Hashable:
        if name in self.constants:
            return ("const", value)
        if name in self.texts and isinstance(value, str):
            return ("t", seen.index(value, name))
        return _part(value, seen, _space_of_name(name))

    def _template(self, name: str, value: Any, seen: _Values) -> Any:
        if name in self.constants:
            return value
        if name in self.texts and isinstance(value, str):
            return _placeholder("t", seen.index(value, name))
        return _template(value, seen, _space_of_name(name))

    def _prepare(self, key: Hashable, arguments: dict[str, Any], alias: str, counting: bool) -> Any:
        seen = _Values()
        templates = {
            name: self._template(name, value, seen) for name, value in sorted(arguments.items())
        }
        connection = connections[alias]
        try:
            queryset = self._built(templates, counting)
            if queryset._known_related_objects or any(
                not isinstance(lookup, str) for lookup in queryset._prefetch_related_lookups
            ):
                # Both would hand the templates' objects (or querysets built on them) to
                # the rows: a related manager's queryset, a Prefetch with a queryset.
                raise NotPreparable("a related manager's queryset or a Prefetch object")
            if queryset.db != alias:
                raise NotPreparable(f"the query runs on {queryset.db!r}")
            compiler = queryset.query.get_compiler(using=alias)
            try:
                sql, params = compiler.as_sql()
            except EmptyResultSet:
                # Empty by the rule, or only because a placeholder fell outside a small
                # column's range (Django leaves such a comparison out): only the first is.
                if _compiles(self._built(arguments, counting), alias, counting) is not None:
                    raise
                shape: Any = _EMPTY
            else:
                sql = _counted(sql) if counting else sql
                plan = _plan(params, seen, sql, connection)
                shape = _Shape(queryset=queryset, compiler=compiler, sql=sql, plan=plan)
        except (NotPreparable, EmptyResultSet) as error:
            if settings.JOBLINE_CHECK_PREPARED_QUERIES:
                raise NotPreparable(f"{self.name}: {error!r}") from error
            logger.warning("prepared query %s runs unprepared: %r", self.name, error)
            shape = _UNPREPARABLE
        with self._lock:
            if len(self._shapes) < MAX_SHAPES:
                self._shapes[key] = shape
        return shape

    def _check(
        self,
        arguments: dict[str, Any],
        sql: str,
        params: tuple[Any, ...],
        alias: str,
        counting: bool,
    ) -> None:
        plain = _compiles(self._built(arguments, counting), alias, counting) or ("", ())
        if plain != (sql, params):
            raise PreparedQueryMismatch(
                f"{self.name}: prepared {sql!r} {params!r}\nplain    {plain[0]!r} {plain[1]!r}"
            )


def _compiles(
    queryset: QuerySet[Any], alias: str, counting: bool = False
) -> tuple[str, tuple[Any, ...]] | None:
    """The plain queryset's SQL and parameters; None when it is empty (no query runs)."""
    try:
        sql, params = queryset.query.get_compiler(using=alias).as_sql()
    except EmptyResultSet:
        return None
    return (_counted(sql) if counting else sql), tuple(params)


def _counted(sql: str) -> str:
    return f"SELECT COUNT(*) FROM ({sql}) AS counted"


def _bind(value: Any, slot: _Slot, connection: Any) -> Any:
    if slot.wrap is not None:
        return slot.wrap(value)
    if slot.adapt == "datetime":
        return connection.ops.adapt_datetimefield_value(value)
    if slot.adapt == "date":
        return connection.ops.adapt_datefield_value(value)
    return value
