"""Matching posts against editors' rules in Ukrainian, Russian and English word forms.

Usage::

    a = analyze(post_text)                     # once per post
    norm, lemmas = a.norm, a.lemma_text        # the two FTS columns
    node = parse_rule('Умєров -Туреччина')     # RuleSyntaxError says where and why
    matcher.add(rule_id, node)
    matcher.match(a, "channel_name")           # -> [RuleMatch(rule_id, spans)]
"""

from bot.matching.analysis import Analysis, Token, analyze, index_fields
from bot.matching.matcher import Matcher, RuleMatch, Span, match_rule
from bot.matching.normalize import normalize
from bot.matching.rules import (
    RuleNode,
    RuleSyntaxError,
    parse_rule,
    rule_from_json,
    rule_sources,
    rule_to_json,
    to_text,
)

__all__ = [
    "Analysis",
    "Matcher",
    "RuleMatch",
    "RuleNode",
    "RuleSyntaxError",
    "Span",
    "Token",
    "analyze",
    "index_fields",
    "match_rule",
    "normalize",
    "parse_rule",
    "rule_from_json",
    "rule_sources",
    "rule_to_json",
    "to_text",
]
