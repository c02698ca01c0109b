"""A shop's own message template: loaded, checked, sandboxed, and never a reason not to print."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from jinja2.sandbox import SecurityError

from bridge.loyalty import Outcome
from bridge.message_template import (
    MessageTemplate,
    TemplateProblem,
    check_template,
    default_template,
    warm,
)
from bridge.messages import award_message, pending_message
from tests.bridge.message_samples import full_outcome

CUSTOMER = Outcome(12, 352, "4000123412341234", None, False)


def _write(tmp_path: Path, source: str, name: str = "shop.j2") -> Path:
    path = tmp_path / name
    path.write_text(source, encoding="utf-8")
    return path


def test_a_shop_template_gives_the_shop_its_own_words(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "{% block title %}Club Café{% endblock %}\n"
        "{% block lines %}\n"
        "{% if kind == 'pending' %}\nYour points are on their way\n{% else %}\n"
        "{{ ngettext('+%(points)s bean', '+%(points)s beans', points, points=points) }}\n"
        "{% endif %}\n{% endblock %}\n",
    )
    template = MessageTemplate.load(path)
    message = award_message(CUSTOMER, template=template)
    assert message is not None
    assert message.title == "Club Café" and message.lines == ("+12 beans",)
    pending = pending_message("en", 42, template)
    assert pending.lines == ("Your points are on their way",)
    assert check_template(path) == []


def test_a_shop_template_may_extend_the_default_one(tmp_path: Path) -> None:
    path = _write(tmp_path, '{% extends "default.j2" %}{% block title %}Club Café{% endblock %}')
    message = award_message(CUSTOMER, template=MessageTemplate.load(path))
    assert message is not None
    assert message.title == "Club Café"
    assert message.lines == ("Card **** 1234", "Points earned: 12", "Balance: 352")


def test_vouchers_may_print_as_qr_codes(tmp_path: Path) -> None:
    template = MessageTemplate.load(_write(tmp_path, '{% extends "default.j2" %}'), "QR")
    message = award_message(full_outcome(), template=template)
    assert message is not None and [b.symbology for b in message.barcodes] == ["QR"]


def test_a_syntax_error_is_reported_with_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "{% block lines %}\nfine\n{% if points %}\nno end\n{% endblock %}\n")
    (problem,) = check_template(path)
    assert problem.line == 5 and "syntax error" in problem.message
    assert str(problem).startswith("line 5: ")


def test_an_unknown_name_is_reported_with_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "{% block lines %}\n{{ points }}\n{{ balanse }}\n{% endblock %}\n")
    assert check_template(path) == [TemplateProblem("unknown name 'balanse'", 3)]


def test_names_the_template_sets_itself_are_not_unknown(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "{% block lines %}{% set shown = points %}{% for p in bonuses %}{{ p.label }}"
        "{% endfor %}{{ shown }}{% endblock %}",
    )
    assert check_template(path) == []


def test_lines_wider_than_the_paper_are_reported(tmp_path: Path) -> None:
    path = _write(tmp_path, "{% block lines %}" + "x" * 40 + "{% endblock %}")
    problems = check_template(path)
    assert problems and all("32 columns" in p.message for p in problems)


def test_the_default_template_is_clean() -> None:
    path = Path(__file__).parents[2] / "bridge" / "templates" / "default.j2"
    assert check_template(path) == []


def test_an_unreadable_template_is_a_problem(tmp_path: Path) -> None:
    (problem,) = check_template(tmp_path / "missing.j2")
    assert "cannot read" in problem.message


@pytest.mark.parametrize("expression", ["''.__class__", "''.__class__.__mro__", "_.__globals__"])
def test_the_sandbox_refuses_python_internals(tmp_path: Path, expression: str) -> None:
    source = "{% block lines %}{{ " + expression + " }}{% endblock %}"
    with pytest.raises(SecurityError):
        MessageTemplate.from_string(source).render({}, "en", 42)
    (problem,) = check_template(_write(tmp_path, source))
    assert "SecurityError" in problem.message


def test_a_failing_shop_template_prints_the_default_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = MessageTemplate.from_string("{% block lines %}{{ 1 // 0 }}{% endblock %}")
    with caplog.at_level(logging.ERROR, logger="bridge.messages"):
        message = award_message(CUSTOMER, template=broken)
    assert message == award_message(CUSTOMER)
    assert "printing the default message" in caplog.text


def test_warm_makes_the_first_render_cheap() -> None:
    warm()
    start = time.perf_counter()
    award_message(full_outcome(), None, "pl", width=32, tier="Gold")
    assert time.perf_counter() - start < 0.01
    assert default_template() is default_template()  # compiled once


def test_a_shop_word_with_a_percent_sign_prints_as_written() -> None:
    template = MessageTemplate.from_string("{% block lines %}{{ _('-50% today') }}{% endblock %}")
    assert template.render({}, "fr", 42).lines == ("-50% today",)
