"""Every rule on hand-built models: the exact set of findings, negatives included."""

import pytest
from torch import nn

from layerorder.lint import RULES, lint_model
from layerorder.lint.checks import CHECKS
from tests.lint import lint_models as lm


def found(model, **kwargs):
    report = lint_model(model, **kwargs)
    return {(f.rule, f.path) for f in report.findings}, report


@pytest.mark.parametrize(
    "make, expected",
    [
        # redundant-bias: only a biased layer whose output goes only and directly into BN/IN
        (lm.conv_bias_bn, {("redundant-bias", "0")}),
        (lm.conv_bias_in, {("redundant-bias", "0")}),
        (lm.conv_bias_relu_bn, {("act-before-norm", "2")}),  # activation between: not redundant
        (lm.conv_bias_gn, set()),  # GroupNorm keeps the bias meaningful
        (lm.linear_bias_ln, set()),  # LayerNorm too
        # dropout-before-norm: a weight layer between breaks the variance shift
        (lm.dropout_linear_bn, set()),
        (lm.linear_relu_dropout_bn, {("dropout-before-norm", "2"), ("act-before-norm", "3")}),
        # consecutive duplicates (the second BN folds nowhere: a norm before, a relu after)
        (lm.norm_norm, {("norm-after-norm", "2"), ("bn-not-foldable", "2")}),
        (lm.act_act, {("act-after-act", "2")}),
        # no-nonlinearity: BN and average pooling are affine, LN and max pooling are not
        (lm.linear_linear, {("no-nonlinearity", "0")}),
        (lm.linear_bn_linear, {("no-nonlinearity", "0")}),
        (lm.conv_avgpool_conv, {("no-nonlinearity", "0")}),
        (lm.linear_relu_linear, set()),
        (lm.linear_ln_linear, set()),
        (lm.conv_maxpool_conv, set()),
        # ... but not across a residual sum, nor through a bottleneck narrower than both ends
        (lm.convnext_like, set()),
        (lm.mobilenet_like, set()),
        (lm.linear_widen_narrow, {("no-nonlinearity", "0")}),
        (lm.linear_bottleneck, set()),
        (lm.conv_flatten_linear, {("no-nonlinearity", "0")}),
        (lm.dense_then_depthwise, set()),
        # act-before-norm
        (lm.act_bn_linear, {("act-before-norm", "2")}),
        (lm.act_bn_padded_conv, {("act-before-norm", "2")}),
    ],
    ids=lambda v: getattr(v, "__name__", None),
)
def test_exact_findings(make, expected):
    assert found(make())[0] == expected


def test_redundant_bias_reports_wasted_parameters():
    (finding,) = lint_model(lm.conv_bias_bn()).findings
    assert finding.wasted_params == 8 and finding.related == ("1",)
    assert "8 parameters" in finding.message and "BatchNorm2d 1" in finding.message
    (finding,) = lint_model(lm.conv_bias_in()).findings
    assert finding.wasted_params == 8 and "InstanceNorm2d" in finding.message


def test_dropout_before_norm_message_and_severity():
    report = lint_model(lm.linear_relu_dropout_bn())
    (f,) = [f for f in report.findings if f.rule == "dropout-before-norm"]
    assert f.severity == "warning" and f.related == ("3",)
    assert "p=0.5" in f.message and "2.00x" in f.message


def test_dropout_reaches_bn_through_concat():
    hits, _ = found(lm.DenseDrop())
    assert ("dropout-before-norm", "dropout") in hits


def test_act_before_norm_says_where_the_bn_folds():
    report = lint_model(lm.act_bn_linear())
    (f,) = report.findings
    assert f.severity == "info" and f.related == ("1",)
    assert "folds into the next weight layer 3" in f.message
    report = lint_model(lm.act_bn_padded_conv())
    (f,) = report.findings
    assert "does not fold into the next one either" in f.message
    assert "3 pads with zeros" in f.message


def test_no_nonlinearity_names_both_layers_and_says_it_can_be_deliberate():
    (f,) = lint_model(lm.linear_bn_linear()).findings
    assert f.related == ("2",) and "linear→bn→linear" in f.message
    assert "deliberate" in f.message


def test_fold_plans_for_every_bn():
    plans = {p.norm: (p.into, p.weight) for p in lint_model(lm.act_bn_linear()).folds}
    assert plans == {"2": ("next", "3")}
    plans = {p.norm: (p.into, p.weight) for p in lint_model(lm.conv_bias_bn()).folds}
    assert plans == {"1": ("previous", "0")}
    plans = {p.norm: p.into for p in lint_model(lm.norm_norm()).folds}
    assert plans == {"1": "previous", "2": None}


def test_functional_calls_are_checked_too():
    hits, report = found(lm.Functional())
    assert hits == set()
    assert report.pattern_count("conv→bn→relu") == 1


def test_rules_are_data_with_a_check_each():
    ids = [r.id for r in RULES]
    # graph checks, and the one module-level rule of layerorder.lint.transformer
    assert len(set(ids)) == len(ids) and set(ids) == set(CHECKS) | {"pre-norm-no-final-norm"}
    for rule in RULES:
        assert rule.severity in ("info", "warning", "error")
        assert rule.why and rule.reference and rule.fix


def test_fail_on_levels():
    report = lint_model(lm.conv_bias_relu_bn())  # one info finding
    assert report.exit_code(None) == 0
    assert report.exit_code("info") == 1
    assert report.exit_code("warning") == 0
    report = lint_model(lm.conv_bias_bn())  # one warning
    assert (report.exit_code("info"), report.exit_code("warning")) == (1, 1)
    assert report.exit_code("error") == 0


def test_bias_is_not_redundant_when_the_norm_reads_another_dimension():
    # Linear(5 -> 4) on (N, 3, 5) then BatchNorm1d(3): BN normalises dim 1, the bias lives on dim 2
    model = nn.Sequential(nn.Linear(5, 4), nn.BatchNorm1d(3))
    assert not [f for f in lint_model(model).findings if f.rule == "redundant-bias"]
