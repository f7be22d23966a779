"""Twitter v1 profile rows for families of accounts the cresci-2015 files do not hold: a second family to test
the profile model on (bench/bots_families.py, tests). Only training, benches and tests import this module.

cresci-2015 holds one kind of bot: purchased fake followers (one vendor, ``dataset`` INT), with default
profiles, no URL, few statuses and many more friends than followers. The generator's planted bot strategies
are other kinds, and so are these profiles:

- ``genuine``: people, from a few months to eight years old, posting a few times a day, liking and being
  listed, a description most of the time, a handle that usually spells their name.
- ``imitator``: bots that imitate people. A description, a URL, a location, normal follower/friend ratios, no
  bought followers. What gives them away, weakly: young accounts posting far more per day than people, liking
  almost nothing, rarely listed, handles of a name plus a run of digits, promotional links in the description.
- ``follower_buyer``: accounts that bought their audience: followers far above what their age, statuses and
  listings would draw (followers gained per day an order of magnitude above people's), otherwise ordinary.

The shares and ranges are this module's assumptions, not measurements of real bots: a model that separates
these families has learnt these assumptions, and the figures say how far cresci-trained features carry to
accounts built differently, not how well real imitators would be caught.

Rows are written with Python's ``random`` (seeded) into one CSV: a few thousand rows, no Spark needed.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import random
from pathlib import Path

FAMILIES = ("genuine", "imitator", "follower_buyer")
COLUMNS = (
    "id",
    "name",
    "screen_name",
    "statuses_count",
    "followers_count",
    "friends_count",
    "favourites_count",
    "listed_count",
    "created_at",
    "url",
    "lang",
    "time_zone",
    "utc_offset",
    "location",
    "default_profile",
    "default_profile_image",
    "geo_enabled",
    "profile_use_background_image",
    "description",
    "updated",
)
CRAWLED = dt.datetime(2015, 2, 14, 10, 40, 1)  # cresci-2015's crawl day: ages comparable with its files
_FIRST = ("emma", "liam", "olivia", "noah", "ava", "lucas", "mia", "leo", "sofia", "marco", "giulia", "james", "anna", "david", "sara", "tom")
_LAST = ("smith", "rossi", "jones", "brown", "bianchi", "garcia", "miller", "ferrari", "wilson", "moore", "taylor", "martin", "lee", "clark")
_WORDS = ("coffee", "music", "travel", "football", "books", "design", "code", "photography", "family", "science", "food", "running", "art")
_ROLES = ("teacher", "engineer", "student", "dad", "mum", "writer", "nurse", "developer", "designer", "runner", "cook")
_PLACES = ("London", "Roma", "New York", "Milano", "Madrid", "Berlin", "Toronto", "Sydney", "Paris", "Chicago")
_ZONES = (("London", "0"), ("Rome", "3600"), ("Eastern Time (US & Canada)", "-18000"), ("Madrid", "3600"), ("Sydney", "39600"))
_FAMILY_IDS = {"genuine": 9_100_000_000, "imitator": 9_200_000_000, "follower_buyer": 9_300_000_000}


def _lognormal(rng: random.Random, median: float, spread: float) -> float:
    return median * math.exp(rng.gauss(0.0, spread))


def _person_name(rng: random.Random) -> tuple[str, str]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    return (f"{first.title()} {last.title()}" if rng.random() < 0.75 else first.title()), f"{first}{last}"


def _handle(rng: random.Random, first_last: str, family: str) -> str:
    if family == "imitator" and rng.random() < 0.7:
        return f"{first_last}{rng.randint(1000, 99999)}"  # a generated handle: the name plus a run of digits
    roll = rng.random()
    if roll < 0.55:
        return first_last[: rng.randint(6, 15)]
    if roll < 0.75:
        return f"{first_last[:10]}{rng.randint(1, 99)}"
    return f"{rng.choice(_WORDS)}_{rng.choice(_WORDS)}"[:15]


def _description(rng: random.Random, family: str) -> str:
    if family == "imitator":
        text = f"{rng.choice(_WORDS).title()} lover. {rng.choice(_WORDS).title()} enthusiast. {rng.choice(_ROLES).title()}."
        if rng.random() < 0.5:
            text += f" Check out http://{rng.choice(_WORDS)}deals.example/{rng.randint(1, 999)}"
        return text
    text = f"{rng.choice(_ROLES)} from {rng.choice(_PLACES)}, into {rng.choice(_WORDS)} and {rng.choice(_WORDS)}"
    if rng.random() < 0.2:
        text += f" @{rng.choice(_WORDS)}{rng.choice(_ROLES)}"
    if rng.random() < 0.1:
        text += f" http://{rng.choice(_WORDS)}.example"
    return text


def profile_row(rng: random.Random, family: str, index: int) -> dict[str, str]:
    """One Twitter v1 profile row of ``family`` (see the module docstring for what each family looks like)."""
    if family not in FAMILIES:
        raise ValueError(f"unknown profile family {family!r}: one of {FAMILIES}")
    person = family == "genuine"
    age_days = math.exp(rng.uniform(math.log(90), math.log(2900))) if person else math.exp(rng.uniform(math.log(45), math.log(900)))
    per_day = _lognormal(rng, 2.0, 1.0) if family != "imitator" else _lognormal(rng, 25.0, 0.6)
    statuses = int(per_day * age_days)
    friends = int(_lognormal(rng, 250, 1.0))
    followers = int(_lognormal(rng, 200, 1.2)) if family != "follower_buyer" else int(_lognormal(rng, 40.0, 0.7) * age_days)
    organic = followers if family != "follower_buyer" else int(_lognormal(rng, 200, 1.0))  # the audience that lists and likes
    favourites = int(statuses * (_lognormal(rng, 0.8, 1.0) if family != "imitator" else _lognormal(rng, 0.03, 0.8)))
    listed = int(organic * (_lognormal(rng, 0.01, 0.8) if family != "imitator" else _lognormal(rng, 0.001, 0.8)))
    name, first_last = _person_name(rng)
    zone = rng.choice(_ZONES) if rng.random() < (0.6 if person else 0.45) else ("", "")
    created = CRAWLED - dt.timedelta(days=age_days, seconds=rng.randint(0, 86399))
    return {
        "id": str(_FAMILY_IDS[family] + index),
        "name": name,
        "screen_name": _handle(rng, first_last, family)[:15],
        "statuses_count": str(statuses),
        "followers_count": str(followers),
        "friends_count": str(friends),
        "favourites_count": str(favourites),
        "listed_count": str(listed),
        "created_at": created.strftime("%a %b %d %H:%M:%S +0000 %Y"),
        "url": f"http://{first_last}.example" if rng.random() < {"genuine": 0.35, "imitator": 0.8, "follower_buyer": 0.6}[family] else "",
        "lang": rng.choice(("en", "en", "it", "es")),
        "time_zone": zone[0],
        "utc_offset": zone[1],
        "location": rng.choice(_PLACES) if rng.random() < 0.7 else "",
        "default_profile": "1" if rng.random() < (0.3 if person else 0.2) else "",
        "default_profile_image": "1" if rng.random() < (0.02 if person else 0.0) else "",
        "geo_enabled": "1" if rng.random() < (0.3 if person else 0.05) else "",
        "profile_use_background_image": "1" if rng.random() < 0.9 else "",
        "description": _description(rng, family) if rng.random() < (0.8 if person else 0.95) else "",
        "updated": CRAWLED.strftime("%Y-%m-%d %H:%M:%S"),
    }


def write_profiles(path: str | Path, family: str, rows: int, seed: int) -> str:
    """Write ``rows`` profiles of ``family`` to a CSV at ``path`` (quoted, with a header); return the path."""
    rng = random.Random(f"{family}:{seed}")
    with Path(path).open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, quoting=csv.QUOTE_ALL)
        writer.writeheader()
        for i in range(rows):
            writer.writerow(profile_row(rng, family, i))
    return str(path)
