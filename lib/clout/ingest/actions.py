"""The normalised action vocabulary every adapter maps to.

Reactions are actions aimed at someone else's content or person; they are what influence is made of.
Creations make content (the amplification denominator). Audience actions (follow) build audience, which
alone is not influence.
"""

REACTIONS = frozenset({"reply", "comment", "answer", "accepted_answer", "quote", "share", "mention", "like", "vote_up", "vote_down", "view", "checkin_tag"})
CREATIONS = frozenset({"post", "checkin"})
AUDIENCE = frozenset({"follow"})
ACTIONS = REACTIONS | CREATIONS | AUDIENCE
# Actions that are about somebody: without a target account the record is incomplete.
TARGETED = REACTIONS | AUDIENCE
