"""Restricted template rendering for dunning notices.

Templates are written by users in the UI, so they are parsed with a private Django template Engine that
has no loaders and no tag libraries to load, then the node tree is checked: only text, ``{{ placeholder }}``
with a known name and whitelisted filters, ``{% if %}`` and ``{% for item in items %}`` are allowed.
Anything else — an unknown placeholder, ``{% include %}``, ``{% load %}`` — is a ``TemplateInvalid`` error
listing the problems (shown in the live preview and refused on save).

A loop may only run over ``items`` (never over a string or an item's field), and every rendering has a budget:
at most ``MAX_ITERATIONS`` loop passes in total (nested loops multiply) and ``MAX_OUTPUT`` characters of loop
output. Past either, rendering stops with ``TemplateTooLarge`` — a template cannot make a preview or a dunning
run spend minutes and megabytes on one notice.

Output: plain text (email text part, SMS, robot message). HTML outputs (email HTML part, PDF letter)
escape the whole rendered text and then add line breaks, so markup typed into a template or carried by
data (a customer called ``<script>``) is shown, never executed.
"""

from __future__ import annotations

import re

from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import FilterExpression, TextNode, VariableNode
from django.template.defaulttags import ForNode, IfNode
from django.utils.html import linebreaks
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from huikuan.common.errors import DomainError

PLACEHOLDERS: dict[str, object] = {
    "customer_name": _("customer's full legal name"),
    "customer_code": _("customer code"),
    "company_name": _("our company name"),
    "notice_number": _("notice number"),
    "notice_date": _("notice date"),
    "total": _("amount due in figures"),
    "total_upper": _("amount due in words (大写)"),
    "total_with_penalty": _("amount incl. penalty to date"),
    "penalty_to_date": _("penalty interest to date"),
    "overdue_list": _("list of the items (one line each)"),
    "items": _("the items, for {% for item in items %}: item.number, item.due_date, item.amount, item.days"),
    "item_count": _("number of items"),
    "final_payment_date": _("final payment date"),
    "bank_name": _("remittance bank"),
    "bank_account_name": _("remittance account name"),
    "bank_account_number": _("remittance account number"),
    "contact_person": _("our contact person"),
    "contact_phone": _("our contact phone"),
    "owner_name": _("account owner"),
    "portal_link": _("customer portal link (empty when there is none)"),
    "step_days": _("days after the due date"),
}
ITEM_FIELDS = {"number", "due_date", "amount", "days", "document_date", "reference"}
FILTERS = {"date", "default", "upper", "lower", "floatformat", "length", "first", "last", "yesno"}


class TemplateInvalid(DomainError):
    code = "template_invalid"

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems), field="body")
        self.problems = problems


class TemplateTooLarge(TemplateInvalid):
    code = "template_too_large"


# A notice lists at most a few thousand items; 20,000 loop passes and 200,000 characters of loop output leave
# room for a single loop over all of them while a nested loop over a long list stops within milliseconds.
MAX_ITERATIONS = 20_000
MAX_OUTPUT = 200_000


class _Budget:
    __slots__ = ("iterations", "output")

    def __init__(self) -> None:
        self.iterations = 0
        self.output = 0

    def spend(self, *, iterations: int = 0, output: int = 0) -> None:
        self.iterations += iterations
        self.output += output
        if self.iterations > MAX_ITERATIONS or self.output > MAX_OUTPUT:
            raise TemplateTooLarge([gettext(
                "The template produces too much text (more than %(passes)s loop passes or %(chars)s characters): "
                "remove the nested loops.") % {"passes": f"{MAX_ITERATIONS:,}", "chars": f"{MAX_OUTPUT:,}"}])


class _BudgetedFor(ForNode):
    """``{% for %}`` that charges every pass and every character to the rendering's budget and refuses to
    iterate anything but a list (a string would loop over its characters)."""

    def render(self, context):
        budget = context.get("__budget__")
        values = self.sequence.resolve(context, ignore_failures=True)
        if values is None or values == "":
            values = []
        if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)):
            raise TemplateInvalid([gettext("Only the items can be looped over ({%% for item in items %%}).") % {}])
        if not values:
            return self.nodelist_empty.render(context)
        if self.is_reversed:
            values = list(reversed(values))
        parentloop = context.get("forloop", {})
        out: list[str] = []
        with context.push():
            n = len(values)
            loop = context["forloop"] = {"parentloop": parentloop}
            for i, item in enumerate(values):
                budget.spend(iterations=1)
                loop.update(counter0=i, counter=i + 1, revcounter=n - i, revcounter0=n - i - 1, first=i == 0,
                            last=i == n - 1)
                if len(self.loopvars) > 1:
                    try:
                        unpacked = dict(zip(self.loopvars, item, strict=True))
                    except (TypeError, ValueError):
                        unpacked = dict.fromkeys(self.loopvars, "")
                    context.update(unpacked)
                else:
                    context[self.loopvars[0]] = item
                for node in self.nodelist_loop:
                    bit = str(node.render_annotated(context))
                    budget.spend(output=len(bit))
                    out.append(bit)
                if len(self.loopvars) > 1:
                    context.pop()
        return "".join(out)


_ENGINE = Engine(loaders=[], libraries={}, autoescape=False, debug=False, string_if_invalid="")


def _check_var(fe: FilterExpression, loop_vars: set[str], problems: list[str]) -> None:
    var = fe.var
    lookups = getattr(var, "lookups", None)
    if lookups:
        root = lookups[0]
        if root in loop_vars:
            if len(lookups) > 1 and lookups[1] not in ITEM_FIELDS:
                problems.append(gettext("Unknown item field: %(name)s") % {"name": ".".join(lookups)})
        elif root not in PLACEHOLDERS or len(lookups) > 1:
            problems.append(gettext("Unknown placeholder: %(name)s") % {"name": ".".join(lookups)})
    for func, _args in fe.filters:
        name = getattr(func, "_filter_name", None) or func.__name__
        if name not in FILTERS:
            problems.append(gettext("Filter not allowed: %(name)s") % {"name": name})


def _walk(nodelist, loop_vars: set[str], problems: list[str]) -> None:
    for node in nodelist:
        if isinstance(node, TextNode):
            continue
        if isinstance(node, VariableNode):
            _check_var(node.filter_expression, loop_vars, problems)
        elif isinstance(node, ForNode):
            lookups = getattr(node.sequence.var, "lookups", None)
            if lookups != ("items",) or node.sequence.filters:
                problems.append(gettext("Only the items can be looped over ({%% for item in items %%}).") % {})
            else:
                _check_var(node.sequence, loop_vars, problems)
            node.__class__ = _BudgetedFor
            _walk(node.nodelist_loop, loop_vars | set(node.loopvars) | {"forloop"}, problems)
            _walk(node.nodelist_empty, loop_vars, problems)
        elif isinstance(node, IfNode):
            for cond, nodelist in node.conditions_nodelists:
                if cond is not None:
                    _check_condition(cond, loop_vars, problems)
                _walk(nodelist, loop_vars, problems)
        else:
            problems.append(gettext("Tag not allowed: %(name)s") % {"name": node.token.contents.split()[0] if getattr(node, "token", None) else type(node).__name__})


def _check_condition(cond, loop_vars, problems) -> None:
    value = getattr(cond, "value", None)
    if isinstance(value, FilterExpression):
        _check_var(value, loop_vars, problems)
    for attr in ("first", "second"):
        sub = getattr(cond, attr, None)
        if sub is not None:
            _check_condition(sub, loop_vars, problems)


# Django's template syntax errors are English sentences: each known kind is told again in the reader's
# language (with its line and tag); an unknown kind gets a general sentence, never Django's English.
_SYNTAX = (
    (re.compile(r"Invalid block tag on line (?P<line>\d+): '(?P<tag>[^']*)'"),
     _("Line %(line)s: the tag “%(tag)s” is not allowed here or does not exist.")),
    (re.compile(r"Unclosed tag on line (?P<line>\d+): '(?P<tag>[^']*)'"),
     _("Line %(line)s: the tag “%(tag)s” is never closed.")),
    (re.compile(r"Empty variable tag on line (?P<line>\d+)"),
     _("Line %(line)s: an empty placeholder {{ }}.")),
    (re.compile(r"Empty block tag on line (?P<line>\d+)"), _("Line %(line)s: an empty tag {%% %%}.")),
    (re.compile(r"Invalid filter: '(?P<name>[^']*)'"), _("Filter not allowed: %(name)s")),
    (re.compile(r"Could not parse the remainder: '(?P<text>[^']*)' from '(?P<source>[^']*)'"),
     _("“%(source)s” cannot be read (the part “%(text)s” is not understood).")),
    (re.compile(r"Could not parse some characters: (?P<source>.*)"),
     _("“%(source)s” cannot be read.")),
    (re.compile(r"'for' statements should use the format 'for x in y'"),
     _("A “for” tag is written {%% for item in items %%}.")),
)


def syntax_problem(exc: TemplateSyntaxError) -> str:
    """A template syntax error in the active language."""
    message = str(exc)
    for pattern, text in _SYNTAX:
        m = pattern.search(message)
        if m:
            return str(text) % m.groupdict()
    return gettext("The template cannot be read: check that every {{ and {%% is closed by }} and %%}.") % {}


def compile_template(source: str):
    """Parse and check a user template; raises TemplateInvalid with every problem found, in the
    active language."""
    try:
        tpl = _ENGINE.from_string(source or "")
    except TemplateSyntaxError as exc:
        raise TemplateInvalid([syntax_problem(exc)]) from exc
    problems: list[str] = []
    _walk(tpl.nodelist, set(), problems)
    if problems:
        raise TemplateInvalid(list(dict.fromkeys(problems)))
    return tpl


def render_text(source: str, context: dict) -> str:
    """Render a user template (see the module's budget); raises TemplateInvalid or TemplateTooLarge."""
    tpl = compile_template(source)
    return tpl.render(Context({**context, "__budget__": _Budget()}, autoescape=False)).strip()


def to_html(text: str) -> str:
    """Rendered text as safe HTML: everything escaped, then paragraphs and line breaks."""
    return mark_safe(linebreaks(text, autoescape=True))  # noqa: S308 - escaped by linebreaks
