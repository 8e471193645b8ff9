"""The typed, immutable model of a trajectory definition (format version 1).

Pure data: no file or YAML handling lives here (that is :mod:`coachflow.files.definitions`), and no
cross-reference checks (that is :mod:`coachflow.definition.checks`). The pydantic models check
structure only: key names, value types, identifiers. Attribute names follow the YAML
keys, with a trailing underscore where the key is a Python keyword (``from_``).
"""

# No ``from __future__ import annotations``: the fields' annotations are then objects that
# pydantic reads as they are, instead of strings it compiles and evaluates one by one when
# the classes are created (a few milliseconds of every import of the engine). A method's
# annotation naming its own class is written as a string.

from collections.abc import Iterator, Mapping
from datetime import date, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    PlainValidator,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
    Tag,
    WithJsonSchema,
    model_validator,
)

from coachflow._bounds import INT64_MAX, INT64_MIN, MAX_DAYS, MAX_WEEK, VERSION_MAX, shown
from coachflow._frozen import FrozenDict
from coachflow.definition.plain import (
    DEFAULT_LANGUAGE,
    PERIOD_NAMES,
    PERIODS,
    expand_sources,
    leaves,
    parse_date,
    text_of,
)
from coachflow.durations import Duration, duration_key, parse_duration

if TYPE_CHECKING:
    import networkx as nx

FORMAT_VERSION = 1
"""The definition format version this coachflow reads (the ``coachflow:`` key)."""

IDENT_PATTERN = r"^[a-z][a-z0-9_]*$"
DEFINITION_ID_PATTERN = r"^[a-z][a-z0-9_-]*$"

Ident = Annotated[str, StringConstraints(strict=True, pattern=IDENT_PATTERN)]
"""An identifier: ``[a-z][a-z0-9_]*``."""

Int64 = Annotated[StrictInt, Field(ge=INT64_MIN, le=INT64_MAX)]
"""An integer a trajectory can hold: a signed 64-bit integer."""
Count = Annotated[StrictInt, Field(gt=0, le=INT64_MAX)]
"""A positive number of times or people."""
Week = Annotated[StrictInt, Field(gt=0, le=MAX_WEEK)]
"""A week of a trajectory: 1 to :data:`~coachflow._bounds.MAX_WEEK`."""


def _holiday_name(value: str) -> str:
    from coachflow.definition.expressions import holiday_name_ok

    if not holiday_name_ok(value):
        raise ValueError(
            f"{value!r} is not a holiday name (1-60 letters, digits, spaces, hyphens and "
            'underscores, e.g. "kerstvakantie")'
        )
    return value


HolidayName = Annotated[str, StringConstraints(strict=True), AfterValidator(_holiday_name)]
"""A holiday of a school calendar, as a definition names it (``kerstvakantie``): it names
the calendar's holidays whose name starts with it (see ``coachflow.calendar``)."""

Version = Annotated[StrictInt, Field(gt=0, le=VERSION_MAX)]
"""A definition version: 1 to 2,147,483,647 (a 32-bit SQL column)."""

DefinitionId = Annotated[str, StringConstraints(strict=True, pattern=DEFINITION_ID_PATTERN)]
LanguageCode = Annotated[
    str, StringConstraints(strict=True, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]+)*$")
]


FactType = Literal["bool", "int", "str", "date", "enum", "list"]
FACT_TYPES: tuple[str, ...] = ("bool", "int", "str", "date", "enum", "list")
ITEM_TYPES: tuple[str, ...] = ("str", "int", "date", "enum")
"""What a ``list`` fact or input may hold."""


IsoDate = Annotated[
    date,
    BeforeValidator(parse_date),
    WithJsonSchema({"type": "string", "format": "date"}),
]


_K = TypeVar("_K")
_V = TypeVar("_V")


def _freeze(value: dict[_K, _V]) -> dict[_K, _V]:
    return FrozenDict(value)


Frozen = AfterValidator(_freeze)

Text = StrictStr | Annotated[dict[LanguageCode, StrictStr], Frozen]
"""A human text: a string (Dutch) or a mapping of language code to string."""


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        populate_by_name=True,
        allow_inf_nan=False,
        validate_default=False,
        defer_build=True,
    )


class _Described(_Model):
    title: Text | None = None
    description: Text | None = None

    def text(self, language: str = DEFAULT_LANGUAGE) -> str | None:
        """The title in ``language``."""
        return text_of(self.title, language)


def _duration_data(value: Duration) -> str | dict[str, int]:
    return {"school_weeks": value.school_weeks} if value.school_weeks else str(value)


DurationSpec = Annotated[
    Duration,
    PlainValidator(parse_duration),
    PlainSerializer(_duration_data),
    WithJsonSchema(
        {
            "oneOf": [
                {"type": "string", "pattern": "^P(\\d+Y)?(\\d+M)?(\\d+W)?(\\d+D)?$"},
                {
                    "type": "object",
                    "properties": {"school_weeks": {"type": "integer", "minimum": 1}},
                    "required": ["school_weeks"],
                    "additionalProperties": False,
                },
            ]
        }
    ),
]
"""A duration: ISO 8601 (``P7D``, ``P2W``, ``P1M``) or ``{school_weeks: N}`` (see
:mod:`coachflow.durations`)."""

SYSTEM = "system"
"""The reserved actor and role of the worker: the only one that fires a state's
``timeout`` event. A definition names it in ``by`` without declaring it; no person ever
holds it."""


# --- facts and inputs ------------------------------------------------------------------


class _FactBase(_Described):
    personal: StrictBool = False
    """It says something about a person (AVG/GDPR personal data): of the retention class
    ``personal`` (a confidential input field: ``confidential``). Declared, not yet
    applied (docs/privacy.md)."""

    def fact_type(self) -> str:
        return str(getattr(self, "type"))  # noqa: B009 - every subclass declares it


class BoolFact(_FactBase):
    type: Literal["bool"]
    default: StrictBool | None = None


class IntFact(_FactBase):
    type: Literal["int"]
    default: Int64 | None = None
    min: Int64 | None = None
    max: Int64 | None = None

    @model_validator(mode="after")
    def _bounds(self) -> "IntFact":
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        if self.default is not None:
            if self.min is not None and self.default < self.min:
                raise ValueError(f"default {self.default} is below min {self.min}")
            if self.max is not None and self.default > self.max:
                raise ValueError(f"default {self.default} is above max {self.max}")
        return self


class StrFact(_FactBase):
    type: Literal["str"]
    default: StrictStr | None = None


class DateFact(_FactBase):
    type: Literal["date"]
    default: IsoDate | None = None


def _unique(values: tuple[str, ...]) -> tuple[str, ...]:
    seen: set[str] = set()
    for v in values:
        if v in seen:
            raise ValueError(f"value {v!r} is listed twice")
        seen.add(v)
    return values


class EnumFact(_FactBase):
    type: Literal["enum"]
    values: Annotated[tuple[Ident, ...], Field(min_length=1), AfterValidator(_unique)]
    default: StrictStr | None = None

    @model_validator(mode="after")
    def _default_in_values(self) -> "EnumFact":
        if self.default is not None and self.default not in self.values:
            raise ValueError(
                f"default {self.default!r} is not one of the values {list(self.values)}"
            )
        return self


class ListFact(_FactBase):
    """A list of strings, ints, dates or enum values (``items``), e.g. learning goals.

    ``values`` lists the allowed values when ``items: enum``; ``min_items`` and
    ``max_items`` bound its length. Values are kept as tuples.
    """

    type: Literal["list"]
    items: Literal["str", "int", "date", "enum"]
    values: Annotated[tuple[Ident, ...], Field(min_length=1), AfterValidator(_unique)] | None = None
    min_items: Annotated[StrictInt, Field(ge=0, le=INT64_MAX)] | None = None
    max_items: Count | None = None
    default: tuple[StrictStr | Int64 | IsoDate, ...] | None = None

    @model_validator(mode="before")
    @classmethod
    def _date_defaults(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("items") == "date":
            default = data.get("default")
            if isinstance(default, (list, tuple)):
                items = []
                for item in default:
                    try:
                        items.append(parse_date(item))
                    except ValueError:
                        items.append(item)  # reported by _consistent
                data = {**data, "default": items}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> "ListFact":
        if (self.items == "enum") != (self.values is not None):
            raise ValueError(
                "a list of enum takes its values (values: [...])"
                if self.items == "enum"
                else f"values only go with items: enum, not items: {self.items}"
            )
        if (
            self.min_items is not None
            and self.max_items is not None
            and self.min_items > self.max_items
        ):
            raise ValueError(
                f"min_items ({self.min_items}) is greater than max_items ({self.max_items})"
            )
        for item in self.default or ():
            problem = self.item_problem(item)
            if problem:
                raise ValueError(f"default: {problem}")
        if self.default is not None:
            problem = self.length_problem(len(self.default))
            if problem:
                raise ValueError(f"default: {problem}")
        return self

    def length_problem(self, length: int) -> str | None:
        """Why a list of ``length`` items does not fit (None when it does)."""
        low, high = self.min_items, self.max_items
        if low is not None and length < low:
            return f"expected at least {low} item{'s' * (low != 1)}, got {length}"
        if high is not None and length > high:
            return f"expected at most {high} item{'s' * (high != 1)}, got {length}"
        return None

    def item_problem(self, item: object) -> str | None:
        """Why ``item`` cannot be an element (None when it can)."""
        want = {"str": str, "enum": str, "int": int, "date": date}[self.items]
        if isinstance(item, bool) or not isinstance(item, want) or isinstance(item, datetime):
            return f"expected {self.items} items, got {shown(item)}"
        if isinstance(item, int) and not INT64_MIN <= item <= INT64_MAX:
            return f"expected int items from {INT64_MIN} to {INT64_MAX}"
        if self.values is not None and item not in self.values:
            return f"expected one of {list(self.values)}, got {shown(item)}"
        return None


Fact = Annotated[
    BoolFact | IntFact | StrFact | DateFact | EnumFact | ListFact, Field(discriminator="type")
]
"""A typed variable of a trajectory. Without ``default`` it is unset (``None``) until set."""


class _InputMixin(_Model):
    required: StrictBool = False
    visible_to: Annotated[tuple[Ident, ...], AfterValidator(_unique)] | None = None
    """Roles that may read the value (default: every participant). The author always can."""
    disclose_to: Annotated[dict[Ident, Ident], Frozen] = Field(default_factory=FrozenDict)
    """Role -> consent: that role may read the value while the consent is granted."""

    @property
    def confidential(self) -> bool:
        return self.visible_to is not None or bool(self.disclose_to)


class BoolInput(BoolFact, _InputMixin):
    pass


class IntInput(IntFact, _InputMixin):
    pass


class StrInput(StrFact, _InputMixin):
    pass


class DateInput(DateFact, _InputMixin):
    pass


class EnumInput(EnumFact, _InputMixin):
    pass


class ListInput(ListFact, _InputMixin):
    pass


InputField = Annotated[
    BoolInput | IntInput | StrInput | DateInput | EnumInput | ListInput,
    Field(discriminator="type"),
]
"""A typed field of an event's payload."""

AnyFact = BoolFact | IntFact | StrFact | DateFact | EnumFact | ListFact
"""Every fact spec class; each input field spec is one too (it extends its fact class)."""

AnyInput = BoolInput | IntInput | StrInput | DateInput | EnumInput | ListInput
"""Every input field spec class."""

Scalar = bool | int | str | date
"""One value of a fact, an input field or a list item."""

Value = Scalar | tuple[Scalar, ...] | None
"""A fact's or an input field's value once checked: a scalar, a tuple of them (a list fact) or
``None`` (unset). Values from outside (JSON, the CLI, the caller) are ``object`` until checked."""

Values = Mapping[str, Value]
"""Facts, an input or the changes of a record, by field name."""


# --- roles, consents, states, transitions ------------------------------------------------

EffectValue = StrictStr | StrictBool | Int64 | tuple[StrictStr | Int64, ...] | None
"""An effect: an expression (string) or a literal value (a list too)."""


class RoleEffects(_Model):
    """What happens to the facts when people join or leave a role."""

    set: Annotated[dict[Ident, EffectValue], Field(min_length=1), Frozen]


def _said(text: str | dict[str, str]) -> str | dict[str, str]:
    texts = [text] if isinstance(text, str) else list(text.values())
    if not texts or not all(t.strip() for t in texts):
        raise ValueError("the reason is empty: say why")
    return text


class SelfAssignment(_Model):
    """Why a role may be assigned by a role that may read less than it does
    (``allow_self_assignment``): the person who assigns could make themselves it."""

    reason: Annotated[Text, AfterValidator(_said)]
    """Required, not empty: why that is acceptable (best quoting the source)."""


class Role(_Described):
    """A part a person plays in a trajectory.

    ``required``: someone must be bound to it at start (and stay bound).
    ``assigned_by``: the roles that may assign and unassign people later (default: none,
    so the participants given at start stay). ``max``: how many people it binds at most.
    ``excludes``: roles one person may never hold together with this one (separation of
    duties; it holds both ways, whichever of the two roles declares it).
    ``allow_self_assignment``: a role that reads what a role in ``assigned_by`` may not
    read, and need not exclude it (otherwise the validator reports ``self-escalation``).
    """

    required: StrictBool = False
    subject: StrictBool = False
    """The person the trajectory is about (the starter, the coachee), whose data it holds:
    their export (``Engine.export_person``) holds every record of it."""
    assigned_by: tuple[Ident, ...] = ()
    max: Count = 1
    excludes: Annotated[tuple[Ident, ...], AfterValidator(_unique)] = ()
    allow_self_assignment: SelfAssignment | None = None
    on_assign: RoleEffects | None = None
    """Effects of assigning someone to the role while the trajectory runs."""
    on_unassign: RoleEffects | None = None
    """Effects of unassigning someone (also the person replaced by an assignment)."""


class Period(_Model):
    """How long values are kept: a duration after the trajectory ended (``after_end``) or
    after it started (``after_start``), one of the two; ISO 8601 (``P2Y``, ``P18M``)."""

    after_end: DurationSpec | None = None
    after_start: DurationSpec | None = None

    @model_validator(mode="after")
    def _one_start(self) -> "Period":
        if (self.after_end is None) == (self.after_start is None):
            raise ValueError("a retention period is either after_end or after_start")
        duration = self.after_end if self.after_end is not None else self.after_start
        if duration is not None and duration.in_school_weeks:
            raise ValueError("a retention period is an ISO 8601 duration (P2Y), not school weeks")
        return self

    @property
    def duration(self) -> Duration:
        found = self.after_end if self.after_end is not None else self.after_start
        assert found is not None  # the validator saw to it
        return found


Keep = Literal["keep"]
"""Kept as long as the trajectory is."""


UNION_TAGS = frozenset({"keep", "period"})
"""The tags of the unions discriminated by a function (not by a ``type`` key): pydantic
puts them in an error's location, where the file has no such key."""


def _kept_or_period(value: object) -> str:
    return "keep" if isinstance(value, str) else "period"


Kept = Annotated[
    Annotated[Keep, Tag("keep")] | Annotated[Period, Tag("period")],
    Discriminator(_kept_or_period),
]
"""``keep`` or a :class:`Period`: a text is read as the one, anything else as the other, so
that a mistake is said once, in the terms of what was meant."""


class Retention(_Model):
    """How long a trajectory's values are kept (AVG/GDPR), per class: the values of
    confidential input fields (``confidential``), those of personal fields and facts
    (``personal``), and every class not given (``default``). ``keep``: as long as the
    trajectory is kept. A class neither given nor covered by ``default`` is kept."""

    confidential: Kept | None = None
    personal: Kept | None = None
    default: Kept | None = None

    def of(self, kind: Literal["confidential", "personal"]) -> Period | None:
        """The period of a class (None: kept)."""
        found = getattr(self, kind)
        if found is None:
            found = self.default
        return found if isinstance(found, Period) else None


class Consent(_Described):
    """A consent that exactly one role can grant or withdraw."""

    granted_by: Ident


class WeekRange(_Model):
    """The school weeks (of the trajectory) in which a state is expected to hold."""

    from_: Annotated[Week, Field(alias="from")]
    to: Week

    @model_validator(mode="after")
    def _ordered(self) -> "WeekRange":
        if self.from_ > self.to:
            raise ValueError(f"week {self.from_} comes after week {self.to}")
        return self


class Timeout(_Model):
    """A timed transition: when the trajectory has stayed ``after`` in the state, the
    worker fires ``event`` as the actor ``system`` (role ``system``)."""

    after: DurationSpec
    event: Ident


class State(_Described):
    final: StrictBool = False
    weeks: WeekRange | None = None
    timeout: Timeout | None = None


class Due(_Model):
    """When a one-off activity is due: exactly one of ``week``, ``days``, ``fact``."""

    week: Week | None = None
    """The last day of that week of the trajectory (school weeks with a calendar)."""
    days: Annotated[StrictInt, Field(ge=0, le=MAX_DAYS)] | None = None
    """That many days after the trajectory entered the activity's first ``during`` state."""
    fact: Ident | None = None
    """The date held by that (date) fact."""
    before: HolidayName | None = None
    """A holiday of the trajectory's calendar the activity belongs before: when the due
    date falls in or after that holiday, the activity is due on the day before it starts,
    and the agenda says so (the order of the source is kept, and shown to be tight)."""

    @model_validator(mode="after")
    def _exactly_one(self) -> "Due":
        given = [k for k in ("week", "days", "fact") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "due takes exactly one of week, days or fact"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self


class FactRef(_Model):
    """A value read from a fact of the trajectory."""

    fact: Ident


class Recurring(_Model):
    """An activity that must happen at least ``at_least`` times every period.

    ``every`` is a period, or ``{fact: name}``: an enum fact whose values are periods, so
    that each trajectory follows the frequency agreed in it (a period follows the value the
    fact held on its first day; while the fact is unset, nothing is asked).
    """

    every: Literal["week", "fortnight", "month", "year"] | FactRef
    at_least: Count = 1
    include: Annotated[tuple[Ident, ...], AfterValidator(_unique)] = ()
    """Other activities whose records count too (a class visit that is also the month's
    contact): each period asks for ``at_least`` records of this activity and these."""


Hours = Annotated[StrictFloat | StrictInt, Field(ge=0, le=INT64_MAX)]

Recipients = Annotated[tuple[Ident, ...], Field(min_length=1), AfterValidator(_unique)]
"""The roles a notification is for."""


class Reminder(_Model):
    """A notice ``before`` an activity's due date to the roles ``to``, while not done."""

    before: DurationSpec
    to: Recipients
    message: Text | None = None


class Escalation(_Model):
    """A notice ``after`` an activity's due date to the roles ``to`` (someone to act:
    a coordinator, the board), when it is still not done then."""

    after: DurationSpec
    to: Recipients
    message: Text | None = None


def notice_key(kind: str, activity: str, duration: Duration, roles: tuple[str, ...]) -> str:
    """What a reminder (``kind`` ``remind``) or escalation (``escalate``) is, as the worker
    keys it: activity, duration (as it is shown: ``P1W`` for ``P7D``, ``4SW`` for school
    weeks) and roles (in any order). Two notices with one key are one notice."""
    return f"{kind}:{activity}:{duration_key(duration)}:{'+'.join(sorted(roles))}"


Notice = tuple[str, str, Duration, "Reminder | Escalation"]
"""One notice of an activity: kind (``remind``, ``escalate``), key, duration, itself."""


Declassifies = Annotated[
    dict[
        Ident,
        Annotated[str, StringConstraints(strict=True, strip_whitespace=True, min_length=1)],
    ],
    Frozen,
]
"""``declassifies``: confidential input field -> why its value may decide what every
participant reads (a non-blank reason)."""


class Activity(_Described):
    """Something people record while a trajectory runs: a visit, a talk, a report."""

    by: Annotated[tuple[Ident, ...], Field(min_length=1), AfterValidator(_unique)]
    during: Annotated[tuple[Ident, ...], Field(min_length=1), AfterValidator(_unique)] | None = None
    when: StrictStr | None = None
    """A guard checked when the activity is recorded."""
    message: Text | None = None
    """What a refusal says when ``when`` is false, instead of the expression: a sentence
    (Dutch) or a language map (``{nl: ..., en: ...}``); only beside a ``when``."""
    expected: StrictStr | None = None
    """Whether the activity is expected at all (facts, consents, done./count., no input):
    while false and not done, the agenda leaves it out."""
    due: Due | None = None
    recurring: Recurring | None = None
    hours: Annotated[dict[Ident, Hours], Frozen] = Field(default_factory=FrozenDict)
    input: Annotated[dict[Ident, InputField], Frozen] = Field(default_factory=FrozenDict)
    at_most: Count | None = None
    """How often it may be recorded in one trajectory."""
    at_most_per_person: Count | None = None
    """How often one person may record it (e.g. three workshops per student)."""
    remind: tuple[Reminder, ...] = ()
    """Reminders before its due date (a one-off activity with ``due``)."""
    escalate: tuple[Escalation, ...] = ()
    """Escalations after its due date, while it is not done."""
    declassifies: Declassifies = Field(default_factory=FrozenDict)
    """Confidential input field -> why its value may decide whether the activity is
    recorded (``done.<name>``, ``count.<name>``), which every participant reads (a
    non-blank reason): the flow check (``confidential-flow``) then allows its guard to
    read it."""

    def notices(self, name: str) -> tuple[Notice, ...]:
        """Its reminders, then its escalations, as listed, keyed (:func:`notice_key`) as
        the activity ``name``'s."""
        found: list[Notice] = []
        for r in self.remind:
            found.append(("remind", notice_key("remind", name, r.before, r.to), r.before, r))
        for e in self.escalate:
            found.append(("escalate", notice_key("escalate", name, e.after, e.to), e.after, e))
        return tuple(found)

    @model_validator(mode="after")
    def _message_beside_when(self) -> "Activity":
        _refuse_lone_message(self.message, self.when)
        return self

    @model_validator(mode="after")
    def _due_or_recurring(self) -> "Activity":
        if self.due is not None and self.recurring is not None:
            raise ValueError("an activity is either due once (due) or recurring, not both")
        return self


def _refuse_lone_message(message: Text | None, when: str | None) -> None:
    if message is None:
        return
    if when is None:
        raise ValueError("a message says why 'when' is false: it needs a 'when' beside it")
    texts = [message] if isinstance(message, str) else list(message.values())
    if not texts or any(not t.strip() for t in texts):
        raise ValueError("a message is a sentence: not blank, and a language map not empty")


Source = Annotated[str, StringConstraints(strict=True, pattern=r"^(\*|[a-z][a-z0-9_]*)$")]


class Transition(_Described):
    """An event that moves a trajectory from one or more states to a state."""

    event: Ident
    from_: Annotated[
        Source | Annotated[tuple[Ident, ...], Field(min_length=1)], Field(alias="from")
    ]
    to: Ident
    by: Annotated[tuple[Ident, ...], Field(min_length=1)]
    when: StrictStr | None = None
    message: Text | None = None
    """What a refusal says when ``when`` is false, instead of the expression: a sentence
    (Dutch) or a language map (``{nl: ..., en: ...}``); only beside a ``when``."""
    input: Annotated[dict[Ident, InputField], Frozen] = Field(default_factory=FrozenDict)
    set: Annotated[dict[Ident, EffectValue], Frozen] = Field(default_factory=FrozenDict)
    declassifies: Declassifies = Field(default_factory=FrozenDict)
    """Confidential input field -> why its value may decide the state and the facts this
    transition sets, which every participant reads (a non-blank reason): the flow check
    (``confidential-flow``) then allows it, and ``coachflow graph`` shows it."""

    @model_validator(mode="after")
    def _message_beside_when(self) -> "Transition":
        _refuse_lone_message(self.message, self.when)
        return self

    @property
    def from_any(self) -> bool:
        """True when ``from: "*"`` (every non-final state)."""
        return self.from_ == "*"


class MigrationMap(_Model):
    """How trajectories of an older version move to this one."""

    version: Version
    """The version migrated from."""
    states: Annotated[dict[Ident, Ident], Frozen]
    """Every state of the old version -> a state of this one."""
    facts: Annotated[dict[Ident, Ident], Frozen] = Field(default_factory=FrozenDict)
    """Old fact -> new fact, for facts that were renamed; facts with the same name carry
    over; new facts start at their default; old facts named nowhere are dropped."""


# --- the definition --------------------------------------------------------------------


class Definition(_Described):
    """One trajectory definition: immutable once loaded."""

    coachflow: Literal[1]
    id: DefinitionId
    version: Version
    roles: Annotated[dict[Ident, Role], Field(min_length=1), Frozen]
    started_by: Annotated[tuple[Ident, ...], Field(min_length=1)] | None = None
    facts: Annotated[dict[Ident, Fact], Frozen] = Field(default_factory=FrozenDict)
    consents: Annotated[dict[Ident, Consent], Frozen] = Field(default_factory=FrozenDict)
    predicates: tuple[Ident, ...] = ()
    initial: Ident
    states: Annotated[dict[Ident, State], Field(min_length=1), Frozen]
    transitions: Annotated[tuple[Transition, ...], Field(min_length=1)]
    activities: Annotated[dict[Ident, Activity], Frozen] = Field(default_factory=FrozenDict)
    migrates_from: MigrationMap | None = None
    suspendable_by: Annotated[tuple[Ident, ...], AfterValidator(_unique)] = ()
    """The roles that may suspend a trajectory and resume it (``Engine.suspend``): while
    suspended nothing is due and no timer fires; afterwards every date moves on by the
    suspended time. Empty: it cannot be suspended."""
    retention: Retention | None = None
    """How long its values are kept, per class (none: every value is kept)."""

    # -- derived views (computed once; the model is frozen) --

    @property
    def key(self) -> tuple[str, int]:
        """``(id, version)``: what identifies a definition revision."""
        return (self.id, self.version)

    @cached_property
    def final_states(self) -> frozenset[str]:
        return frozenset(name for name, s in self.states.items() if s.final)

    @cached_property
    def events(self) -> tuple[str, ...]:
        """Every event name, in file order, without repeats."""
        return tuple(dict.fromkeys(t.event for t in self.transitions))

    def sources(self, transition: Transition) -> tuple[str, ...]:
        """The states a transition leaves (``"*"`` expanded to every non-final state)."""
        return expand_sources(transition.from_, self.states)

    def outgoing(self, state: str) -> Iterator[Transition]:
        """Transitions leaving ``state``, in file order."""
        for t in self.transitions:
            if leaves(t.from_, state, self.states):
                yield t

    def activity_states(self, name: str) -> tuple[str, ...]:
        """The states in which an activity can be recorded (default: every non-final)."""
        during = self.activities[name].during
        if during is None:
            return tuple(n for n, s in self.states.items() if not s.final)
        return during

    def workload(self, count: int = 1) -> dict[str, float]:
        """Hours per role for ``count`` trajectories: each activity's ``hours`` times how
        often it happens (once; a recurring one ``at_least`` times per period over the
        weeks its ``during`` states span, where those declare ``weeks``)."""
        totals: dict[str, float] = dict.fromkeys(self.roles, 0.0)
        for name, activity in self.activities.items():
            times = self.occurrences(name)
            for role, hours in activity.hours.items():
                totals[role] = totals.get(role, 0.0) + hours * times * count
        return {role: round(h, 2) for role, h in totals.items() if h}

    def occurrences(self, name: str) -> float:
        """How often an activity is expected to happen in one trajectory."""
        activity = self.activities[name]
        if activity.recurring is None:
            return 1.0
        weeks = 0
        for state in self.activity_states(name):
            span = self.states[state].weeks
            if span is not None:
                weeks += span.to - span.from_ + 1
        if weeks == 0:
            return float(activity.recurring.at_least)
        per = {"week": 1.0, "fortnight": 2.0, "month": 52 / 12, "year": 52.0}[
            self.planned_period(name)
        ]
        return activity.recurring.at_least * max(1.0, round(weeks / per))

    def planned_period(self, name: str) -> str:
        """The period of a recurring activity for planning: a fixed ``every``, else the
        default of its fact, else the fact's least frequent value."""
        every = self.activities[name].recurring.every  # type: ignore[union-attr]
        if isinstance(every, str):
            return every
        spec = self.facts.get(every.fact)
        default = getattr(spec, "default", None)
        if isinstance(default, str) and default in PERIOD_NAMES:
            return PERIOD_NAMES[default]
        periods = [PERIOD_NAMES[v] for v in getattr(spec, "values", ()) if v in PERIOD_NAMES]
        return max(periods, key=PERIODS.index, default="month")

    def graph(self) -> "nx.MultiDiGraph":
        """A networkx ``MultiDiGraph``: states as nodes, one edge per transition source
        (so a ``from: "*"`` transition is one edge from every non-final state)."""
        return build_graph(self.states, self.transitions)


def build_graph(
    states: dict[str, State], transitions: tuple[Transition, ...] | list[Transition]
) -> "nx.MultiDiGraph":
    import networkx as nx

    g = nx.MultiDiGraph()
    for name, s in states.items():
        g.add_node(name, title=text_of(s.title), final=s.final)
    for index, t in enumerate(transitions):
        for src in expand_sources(t.from_, states):
            g.add_edge(src, t.to, key=index, event=t.event, by=t.by, when=t.when, index=index)
    return g


def definition_json_schema() -> dict[str, Any]:
    """The JSON Schema of the definition format, generated from the pydantic model."""
    schema = Definition.model_json_schema(by_alias=True, mode="validation")
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **schema,
    }
    schema["title"] = "coachflow trajectory definition (format 1)"
    return schema
