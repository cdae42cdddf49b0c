"""The basis of a policy: one document or a list of them (文号, title, clause, URL, clause
text), each condition citing one; and the verification mark (待核 drafts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.errors import PolicyError
from rules.loader import load_library, load_policy
from rules.model import Basis

HEAD = """\
id: test-two-docs
title: 测试两个文件
entity: enterprise
effective: {from: 2023-01-01}
delivery: notice
"""
TWO_DOCS = HEAD + """\
basis:
  - document: 财政部 税务总局公告2023年第12号
    title: 关于进一步支持小微企业和个体工商户发展有关税费政策的公告
    clause: 第五条
    url: https://www.chinatax.gov.cn/example
    text: 小型微利企业是指从事国家非限制和禁止行业……
  - title: 一个没有文号的办法
    clause: 第二条
eligibility:
  all:
    - {when: employees <= 300, label: 从业人数不超过300人, clause: 从业人数不超过300人}
    - {when: status = "存续", label: 存续, document: 一个没有文号的办法, clause: 登记状态为存续}
"""


def _write(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_list_of_documents_is_read_in_order(tmp_path: Path) -> None:
    policy = load_policy(_write(tmp_path, TWO_DOCS))
    first, second = policy.bases
    assert first.document == "财政部 税务总局公告2023年第12号" and first.clause == "第五条"
    assert first.url and first.text and first.title
    assert second.document is None and second.name == "一个没有文号的办法"
    assert policy.basis == first
    assert policy.verified and policy.verification == "已核"


def test_each_condition_cites_its_document_and_keeps_its_clause_text(tmp_path: Path) -> None:
    policy = load_policy(_write(tmp_path, TWO_DOCS))
    c1, c2 = policy.conditions
    assert policy.basis_of(c1).cite == "财政部 税务总局公告2023年第12号 第五条"
    assert policy.basis_of(c2).cite == "一个没有文号的办法 第二条"
    assert c1.clause == "从业人数不超过300人"


def test_a_single_mapping_basis_stays_valid(tmp_path: Path) -> None:
    text = HEAD + "basis: {document: 测试文件, clause: 第一条}\neligibility: " \
        "{when: employees <= 300, label: 人数}\n"
    policy = load_policy(_write(tmp_path, text))
    assert policy.bases == (Basis(document="测试文件", clause="第一条"),)


@pytest.mark.parametrize(("basis", "expected"), [
    ("basis: []", "got an empty list"),
    ("basis: [{clause: 第一条}]", "expected a 'document' (文号) or, for a text without one"),
    ("basis: [{document: 文件, page: 3}]", "got 'page'"),
    ("basis: [文件]", "expected a document {document"),
])
def test_a_bad_basis_is_refused_with_where_and_what(tmp_path: Path, basis: str,
                                                    expected: str) -> None:
    text = HEAD + basis + "\neligibility: {when: employees <= 300, label: 人数}\n"
    with pytest.raises(PolicyError) as err:
        load_policy(_write(tmp_path, text))
    assert any(expected in p.message for p in err.value.problems), err.value.problems


def test_a_condition_naming_no_basis_document_is_refused(tmp_path: Path) -> None:
    text = TWO_DOCS.replace("document: 一个没有文号的办法, clause", "document: 一个办法, clause")
    with pytest.raises(PolicyError) as err:
        load_policy(_write(tmp_path, text))
    [problem] = err.value.problems
    assert problem.code == "unknown-document" and problem.suggestion == "一个没有文号的办法"


@pytest.mark.parametrize(("mark", "verified"), [("待核", False), ("已核", True)])
def test_verification_marks_a_draft(tmp_path: Path, mark: str, verified: bool) -> None:
    policy = load_policy(_write(tmp_path, TWO_DOCS + f"verification: {mark}\n"))
    assert policy.verified is verified and policy.verification == mark


def test_an_unknown_verification_mark_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as err:
        load_policy(_write(tmp_path, TWO_DOCS + "verification: 核过\n"))
    assert err.value.problems[0].code == "bad-verification"


def test_a_verified_policy_may_not_depend_on_an_unverified_one(tmp_path: Path) -> None:
    draft = HEAD.replace("test-two-docs", "draft-one") + (
        "verification: 待核\nbasis: {document: 文件}\n"
        "eligibility: {when: employees <= 300, label: 人数}\n")
    user = HEAD.replace("test-two-docs", "user-one") + (
        "basis: {document: 文件}\n"
        "eligibility: {when: eligible(\"draft-one\"), label: 符合草稿}\n")
    _write(tmp_path, draft, "draft-one.yaml")
    _write(tmp_path, user, "user-one.yaml")
    with pytest.raises(PolicyError) as err:
        load_library([tmp_path])
    assert [p.code for p in err.value.problems] == ["unverified-reference"]
