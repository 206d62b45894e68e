#!/usr/bin/env bash
# Install the object-storage emulators that the remote tests start on loopback (tests/storage/
# emulators.py): s3rver (a second S3 implementation) and Azurite (Azure Blob), from npm, into
# .emulators/ at the repository root. moto and fake-gcs-server come with the `test` extra (PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .emulators/node_modules/.bin/s3rver ] && [ -x .emulators/node_modules/.bin/azurite-blob ]; then
  exit 0
fi
mkdir -p .emulators
npm install --prefix .emulators --no-audit --no-fund --loglevel=error azurite@3.37.0 s3rver@3.7.1
