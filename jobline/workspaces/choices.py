"""Choice lists for workspace settings, from the standard library and Babel (no hand-kept lists)."""

from __future__ import annotations

import zoneinfo
from functools import cache

from babel import Locale, UnknownLocaleError
from babel.numbers import get_currency_name, list_currencies

# Locales offered in settings; any Babel locale is valid, these are the ones we list.
OFFERED_LOCALES = [
    "en-GB", "en-US", "en-IE", "en-AU", "en-NZ", "en-CA", "en-ZA", "de-DE", "de-AT",
    "de-CH", "fr-FR", "fr-BE", "fr-CA", "es-ES", "es-MX", "it-IT", "nl-NL", "nl-BE",
    "pt-PT", "pt-BR", "sv-SE", "da-DK", "nb-NO", "fi-FI", "pl-PL", "cs-CZ",
]  # fmt: skip


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    zones = sorted(z for z in zoneinfo.available_timezones() if "/" in z or z == "UTC")
    return [(z, z.replace("_", " ")) for z in zones]


@cache
def currency_choices() -> list[tuple[str, str]]:
    codes = sorted(c for c in list_currencies() if len(c) == 3)
    return [(c, f"{c} — {get_currency_name(c, locale='en')}") for c in codes]


@cache
def locale_choices() -> list[tuple[str, str]]:
    choices = []
    for tag in OFFERED_LOCALES:
        try:
            name = Locale.parse(tag, sep="-").get_display_name("en")
        except (UnknownLocaleError, ValueError):
            continue
        choices.append((tag, f"{name} ({tag})"))
    return choices
