#!/usr/bin/env bash
# Regenerate src/modelkeep/schema/modelkeep_pb2.py and .pyi from modelkeep.proto.
#
# protoc is pinned (grpcio-tools 1.63.0 bundles protoc 26.1): its Python code runs on every
# protobuf runtime from 5.26.1 on, the floor in pyproject.toml. A newer protoc would write a
# runtime version check that refuses any runtime older than itself. The pinned tool is
# installed into a throwaway virtualenv, so the project's own environment is left alone.
# tests/schema/test_protoio.py checks that the checked-in code matches the .proto.
set -euo pipefail

GRPCIO_TOOLS_VERSION=1.63.0
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$(mktemp -d)"
trap 'rm -rf "$venv"' EXIT

"${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "grpcio-tools==$GRPCIO_TOOLS_VERSION"
cd "$root/src"
"$venv/bin/python" -m grpc_tools.protoc -I . --python_out=. --pyi_out=. \
    modelkeep/schema/modelkeep.proto
echo "regenerated src/modelkeep/schema/modelkeep_pb2.py and modelkeep_pb2.pyi"
