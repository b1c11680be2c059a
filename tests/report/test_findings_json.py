"""Findings JSON read back (``report.findings_json``): a committed file of an older wording reads
in today's words, with the counts its per-seed values give."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from layerorder.errors import ConfigError
from layerorder.report.findings_json import findings_from_json
from layerorder.studies import load_study

# the sign-test claims of a findings file written before the headline named the claim's side
# (studies/cpu/bn-activation/claims.json at bn-activation v3, its other claims left out)
CLAIMS = Path(__file__).resolve().parent / "data" / "bn-activation-sign-tests.json"


def _at_current_version(text: str) -> str:
    """The file as if written at the study's current version (the loader refuses another)."""
    data = json.loads(text)
    for entry in data["studies"]:
        entry["version"] = load_study(entry["study"]).version
    return json.dumps(data)


def test_an_older_sign_test_headline_names_the_claims_side_as_its_values_say():
    """Files written before the headline named the claim's side say 'A seeds one way, B the
    other' (A above zero). Read back, each says how many seeds lie on the claim's side of zero
    (its reference: below for a claim of fewer dead units), counted here from the stored
    per-seed differences."""
    text = CLAIMS.read_text()
    stored = {c["id"]: c for c in json.loads(text)["studies"][0]["claims"]}
    results = [c for r in findings_from_json([("f", _at_current_version(text))]).results
               for c in r.claims]
    signs = [c for c in results if c.verdict.decided_by == "exact sign test"]
    assert signs and all("one way" in stored[c.claim.id]["effect"] for c in signs)
    for claim in signs:
        low, high = claim.verdict.reference
        values = claim.verdict.estimates[0].values
        toward = sum(1 for v in values if v != 0 and low <= v <= high)
        tied = sum(1 for v in values if v == 0)
        seeds = "seed" if toward == 1 else "seeds"
        assert claim.verdict.effect == (f"{toward} {seeds} on the claim's side, "
                                        f"{len(values) - toward - tied} against, {tied} tied")
    dead = next(c for c in signs if c.claim.id == "bn-fewer-dead-units")
    assert dead.verdict.effect == "5 seeds on the claim's side, 0 against, 5 tied"


def test_a_file_read_back_applies_the_guards_of_its_study():
    """bn-regularises stands on its fit check: read back with that check's verdict changed to
    contradicted (as a file written before the guard could hold), the claim is undecided."""
    path = Path(__file__).resolve().parents[2] / "studies" / "cpu" / "bn-activation" / "claims.json"
    data = json.loads(path.read_text())
    (entry,) = data["studies"]
    by_id = {c["id"]: c for c in entry["claims"]}
    assert by_id["bn-regularises"]["outcome"] == "supported"
    as_read = {c.claim.id: c.verdict for r in findings_from_json([("f", path.read_text())]).results
               for c in r.claims}
    assert as_read["bn-regularises"].outcome == "supported"
    by_id["bn-regularises-fits-alike"]["outcome"] = "contradicted"
    failed = {c.claim.id: c.verdict for r in findings_from_json([("f", json.dumps(data))]).results
              for c in r.claims}
    assert failed["bn-regularises"].outcome == "undecided"
    assert "its guard 'bn-regularises-fits-alike' is contradicted" in failed[
        "bn-regularises"].evidence


def test_the_resnet_comparisons_of_dropout_bn_stand_where_the_dropout_arm_learned():
    """ResNet-56 with dropout 0.5 before every BN ends at chance in eval mode at the cpu scale,
    the variance shift at work; recalibrated, every seed is above chance + 5, so the arm learned
    and the two comparisons read against it stand. Read back as if that check had failed (a
    file of a scale where the arm never trained), they are undecided."""
    path = Path(__file__).resolve().parents[2] / "studies" / "cpu" / "dropout-bn" / "claims.json"
    data = json.loads(path.read_text())
    (entry,) = data["studies"]
    guarded = ("resnet-drop-before-bn-costs-vs-none", "resnet-dropout-after-last-bn-better")

    def read(payload):
        return {c.claim.id: c.verdict for r in findings_from_json([("f", payload)]).results
                for c in r.claims}

    as_read = read(path.read_text())
    learned = as_read["resnet-branch-learns"]
    assert learned.outcome == "supported" and min(learned.estimates[0].values) > 15.6
    assert all(as_read[c].outcome == "supported" for c in guarded)
    by_id = {c["id"]: c for c in entry["claims"]}
    by_id["resnet-branch-learns"]["outcome"] = "contradicted"
    failed = read(json.dumps(data))
    for claim in guarded:
        assert failed[claim].outcome == "undecided"
        assert "its guard 'resnet-branch-learns' is contradicted" in failed[claim].evidence


def test_the_page_counts_this_studys_readings_apart():
    """The lead of the page drawn from the committed cpu files counts the debated claims that
    are this study's own readings apart, with their verdicts, as the claims give them; the
    JSON marks each."""
    from layerorder.report.findings import lead as page_lead
    from layerorder.report.findings_json import claim_records

    files = sorted((Path(__file__).resolve().parents[2] / "studies" / "cpu").glob("*/claims.json"))
    findings = findings_from_json([(str(f), f.read_text()) for f in files])
    readings = [c for c in findings.counted() if c.claim.reading]
    assert len(readings) >= 10
    lead = page_lead(findings)  # the paragraph both pages open with
    outcomes = [c.verdict.outcome for c in readings]
    contradicted = outcomes.count("contradicted")
    assert f"Of these, {len(readings)} are this study's own readings of a source" in lead
    assert (f"{contradicted} CONTRADICTED" in lead.split("Of these")[1].split(".")[0]) == bool(
        contradicted)
    marked = {r.id for r in claim_records(findings) if r.reading}
    assert marked == {c.claim.id for r in findings.results for c in r.claims if c.claim.reading}


def test_a_file_judged_against_other_needs_is_refused():
    """A claim's needs can change within a study version (depth-changes-answer gained
    worst_accuracy at residual-units v3): a file judged against the old needs is refused with the
    fix, never shown with its old verdict beside the new needs."""
    path = Path(__file__).resolve().parents[2] / "studies/cpu/residual-units/claims.json"
    data = json.loads(path.read_text())
    assert findings_from_json([("f", json.dumps(data))]).results  # as written: read back
    (entry,) = data["studies"]
    claim = next(c for c in entry["claims"] if c["id"] == "depth-changes-answer")
    claim["needs"] = ["depth >= 56", "optimizer sgd"]  # as judged before the change
    with pytest.raises(ConfigError, match="'depth-changes-answer' of 'residual-units' was judged"
                       ".*report it again from its store"):
        findings_from_json([("f", json.dumps(data))])
