"""Protected aliases move only onto a version whose latest validation passed, or by force
with a reason that the history keeps."""

from __future__ import annotations

import pytest

from modelkeep.errors import InvalidInputError, ValidationRequiredError
from modelkeep.keep import Keep


def test_unvalidated_version_cannot_become_production(two_versions):
    with pytest.raises(ValidationRequiredError) as caught:
        two_versions.set_alias("m", "production", "1.0.1")
    assert caught.value.message == "m@production is protected: m@1.0.1 has never been validated"
    assert caught.value.exit_code == 4
    assert two_versions.resolve("m@production").version == "1.0.0"


def test_passing_validation_opens_the_alias_and_a_later_failure_closes_it(two_versions,
                                                                         write_policy):
    two_versions.validate("m@1.0.1", write_policy("metrics: [accuracy >= 0.9]\n"))
    move = two_versions.set_alias("m", "production", "1.0.1", reason="better accuracy")
    assert (move.version, move.reason, move.forced) == ("1.0.1", "better accuracy", False)
    two_versions.validate("m@1.0.1", write_policy("metrics: [accuracy >= 0.99]\n"))
    two_versions.set_alias("m", "production", "1.0.0", force=True, reason="rollback")
    with pytest.raises(ValidationRequiredError, match=r"failed its latest validation \(.*: "
                       r"accuracy >= 0.99\)"):
        two_versions.set_alias("m", "production", "1.0.1")


def test_force_needs_a_reason_and_is_recorded(two_versions):
    with pytest.raises(InvalidInputError, match="--force on m@production needs a --reason"):
        two_versions.set_alias("m", "production", "1.0.1", force=True, reason="  ")
    move = two_versions.set_alias("m", "production", "1.0.1", force=True, reason="hotfix")
    assert move.forced and move.reason == "[forced] hotfix"
    history = [m.to_dict() for m in two_versions.alias_history("m", "production")]
    assert [(h["version"], h["reason"], h["forced"]) for h in history] == [
        ("1.0.0", "[forced] first release", True), ("1.0.1", "[forced] hotfix", True)]


def test_a_reason_cannot_pretend_to_be_forced(two_versions):
    for alias in ("production", "staging"):
        with pytest.raises(InvalidInputError, match="may not start with '\\[forced\\]'"):
            two_versions.set_alias("m", alias, "1.0.0", reason="[forced] not really")


def test_other_aliases_are_free_and_force_is_not_recorded_there(two_versions):
    assert not two_versions.set_alias("m", "staging", "1.0.1").forced
    assert two_versions.set_alias("m", "staging", "1.0.0", force=True, reason="x").reason == "x"


def test_protected_aliases_come_from_config(two_versions):
    config = two_versions.settings.keep_dir / "config.toml"
    text = config.read_text().replace('protected_aliases = ["production"]',
                                      'protected_aliases = ["canary"]')
    config.write_text(text)
    keep = Keep.open(two_versions.settings.root)
    assert keep.settings.protected_aliases == ("canary",)
    keep.set_alias("m", "production", "1.0.1")  # no longer protected
    with pytest.raises(ValidationRequiredError, match="m@canary is protected"):
        keep.set_alias("m", "canary", "1.0.1")
    config.write_text(text.replace('["canary"]', '"canary"'))
    with pytest.raises(InvalidInputError, match="protected_aliases must be list"):
        Keep.open(two_versions.settings.root)
    config.write_text(text.replace('["canary"]', '[1]'))
    with pytest.raises(InvalidInputError, match="protected_aliases must be a list of strings"):
        Keep.open(two_versions.settings.root)
    keep.close()


def test_a_keep_without_the_setting_protects_production(tmp_path, make_model):
    keep = Keep.init(tmp_path / "k")
    config = keep.settings.keep_dir / "config.toml"
    config.write_text(config.read_text().split("[validation]")[0])
    keep = Keep.open(tmp_path / "k")
    assert keep.settings.protected_aliases == ("production",)
    keep.register("m", make_model(tmp_path / "m"))
    with pytest.raises(ValidationRequiredError):
        keep.set_alias("m", "production", "1.0.0")
