"""Only validated versions are deployed: a missing or failed validation is refused with
nothing written, whatever the kind of deploy, unless forced with a reason the history keeps."""

from __future__ import annotations

import pytest
from support import pass_validation

from modelkeep.errors import InvalidInputError, ValidationRequiredError

FAILING_POLICY = "required: [description]\n"  # registered without a description


@pytest.fixture
def two(any_keep, make_model, tmp_path):
    folder = make_model(tmp_path / "m", b"one")
    any_keep.register("m", folder)
    make_model(folder, b"two")
    any_keep.register("m", folder)
    pass_validation(any_keep, "m@1.0.0")
    any_keep.deploy("m@1.0.0")
    return any_keep


@pytest.mark.parametrize("kind", [{}, {"canary": True}, {"shadow": True}, {"blue_green": True}])
def test_a_version_never_validated_is_refused_and_nothing_is_written(two, kind):
    revision = two.deployment_revision()
    with pytest.raises(ValidationRequiredError) as caught:
        two.deploy("m@1.0.1", **kind)
    assert caught.value.message == "cannot deploy m@1.0.1: it has never been validated"
    assert "--force --reason" in caught.value.hint and caught.value.exit_code == 4
    assert two.deployment_revision() == revision


def test_a_failed_validation_is_refused_naming_its_checks_and_a_later_pass_lets_it(two):
    policy = two.settings.root / "failing.yaml"
    policy.write_text(FAILING_POLICY)
    assert not two.validate("m@1.0.1", policy).passed
    with pytest.raises(ValidationRequiredError, match=r"failed its latest validation .*description"):
        two.deploy("m@1.0.1", canary=True)
    pass_validation(two, "m@1.0.1")
    assert two.deploy("m@1.0.1", canary=True).state.rollout.candidate == "1.0.1"


def test_force_needs_a_reason_and_is_recorded(two):
    with pytest.raises(InvalidInputError, match="needs a --reason"):
        two.deploy("m@1.0.1", force=True)
    with pytest.raises(InvalidInputError, match="needs a --reason"):
        two.deploy("m@1.0.1", force=True, reason="   ")
    with pytest.raises(InvalidInputError, match="may not start with"):
        two.deploy("m@1.0.1", force=True, reason="[forced] sneaky")
    event = two.deploy("m@1.0.1", force=True, reason="hotfix for the outage")
    assert event.reason == "[forced] hotfix for the outage"
    assert two.deployment_history("m")[-1].reason == "[forced] hotfix for the outage"
    assert two.deployment("m").stable == "1.0.1"
