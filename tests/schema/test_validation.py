"""Invalid metadata: one InvalidMetadataError with a one-line message naming the field."""

from __future__ import annotations

import pytest

from modelkeep.errors import InvalidInputError, InvalidMetadataError
from modelkeep.schema.validation import metadata_from_data

BASE = {"name": "m", "version": "1"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "metadata field 'identity.name' is required (and 1 more problem)"),
        ({"name": "m"}, "metadata field 'identity.version' is required"),
        ({**BASE, "colour": "red"}, "metadata field 'colour' is not a known field"),
        ({"name": 5, "version": "1"}, "metadata field 'identity.name' must be a string, not int"),
        ({**BASE, "components": []}, "metadata field 'components' must be a mapping, not list"),
        ({**BASE, "components": {"datasets": [{"name": "d"}]}},
         "metadata field 'components.datasets.0.role' is required"),
        ({**BASE, "components": {"hyperparameters": {"lr": [1]}}},
         "metadata field 'components.hyperparameters.lr' must be a string, integer, float or boolean"),
        ({**BASE, "components": {"hyperparameters": {"": 1}}},
         "metadata field 'components.hyperparameters' key '': string should have at least 1 character"),
        ({**BASE, "created": "2024-01-01T00:00:00"},
         "metadata field 'identity.created' must have a timezone"),
        ({**BASE, "components": {"code": {"commit": "abc"}}},
         "metadata field 'components.code.commit': string should match pattern"),
        ({**BASE, "schema_version": 9}, "metadata field 'schema_version': version 9 is newer"),
        ({"name": "m", "identity": {"name": "n", "version": "1"}},
         "metadata: 'name' is given both at the top level and under 'identity'"),
    ],
)
def test_first_problem_is_named_on_one_line(data: dict, message: str) -> None:
    with pytest.raises(InvalidMetadataError) as caught:
        metadata_from_data(data)
    assert caught.value.message.startswith(message)
    assert isinstance(caught.value, InvalidInputError) and caught.value.exit_code == 2
    assert caught.value.hint


def test_the_count_of_further_problems_is_given() -> None:
    with pytest.raises(InvalidMetadataError) as caught:
        metadata_from_data({"name": 1, "version": 2, "tags": [3]})
    assert caught.value.message.endswith("(and 2 more problems)")
    assert caught.value.fields == {"field": "identity.name"}


def test_newlines_in_keys_do_not_break_the_line() -> None:
    with pytest.raises(InvalidMetadataError) as caught:
        metadata_from_data({**BASE, "performance": {"metrics": {"a\nb": "x"}}})
    assert "\n" not in caught.value.message and "a\\nb" in caught.value.message


def test_data_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(InvalidMetadataError, match="must be a mapping of fields, not str"):
        metadata_from_data("name: m")
