"""modelkeep: version AI models end to end, from the training run to production traffic.

The public Python API. Names load lazily so that ``import modelkeep`` (and the CLI) stays fast::

    import modelkeep
    keep = modelkeep.Keep.open()                 # or modelkeep.Keep.init("path")
    keep.register("bert", "./model", bump="minor", params={"lr": 0.001})
    with modelkeep.start_run(model="bert") as run:
        run.log_metric("loss", 0.3, step=1)
"""

from __future__ import annotations

from typing import Any

from modelkeep import _lazy

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "AliasMove": "modelkeep.registry.aliases",
    "BumpReport": "modelkeep.registry.candidates",
    "CheckResult": "modelkeep.registry.validation.results",
    "DocsResult": "modelkeep.registry.documents",
    "EntryPointError": "modelkeep.errors",
    "InvalidModelInputError": "modelkeep.errors",
    "InvalidPolicyError": "modelkeep.errors",
    "Keep": "modelkeep.keep",
    "LoadedModel": "modelkeep.registry.loaders",
    "LoaderError": "modelkeep.errors",
    "LoaderFailedError": "modelkeep.errors",
    "LoaderMissingError": "modelkeep.errors",
    "ModelMetadata": "modelkeep.schema.metadata",
    "ModelkeepError": "modelkeep.errors",
    "OutputExistsError": "modelkeep.errors",
    "Prediction": "modelkeep.registry.loaders",
    "ReproduceReport": "modelkeep.tracking.reproduce_run",
    "ReproductionIncompleteError": "modelkeep.errors",
    "SignatureUnknownError": "modelkeep.errors",
    "UnknownFormatError": "modelkeep.errors",
    "UntrustedPickleError": "modelkeep.errors",
    "ValidationReport": "modelkeep.registry.validation.results",
    "ValidationRequiredError": "modelkeep.errors",
    "ValidationStatus": "modelkeep.registry.validation.results",
    "Version": "modelkeep.registry.semver",
    "VersionDiff": "modelkeep.registry.diff",
    "VersionInfo": "modelkeep.registry.versions",
    "dump_metadata": "modelkeep.schema.formats",
    "json_schema": "modelkeep.schema.formats",
    "load_metadata": "modelkeep.schema.formats",
    "parse_metadata": "modelkeep.schema.formats",
    "start_run": "modelkeep.tracking.api",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    return _lazy.load(globals(), _EXPORTS, name)


def __dir__() -> list[str]:
    return _lazy.names(globals(), __all__)
