"""The barcode reader bundled from the npm registry (static/vendor/zxing.min.js and the WebAssembly module beside it,
zxing_reader.wasm) is committed, whole, and the one the lock file pins: VERSIONS.json names the package and version,
and each built file's SHA-256 matches it."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from edl.web.rendering import STATIC_DIR, static_versions

ROOT = Path(__file__).resolve().parents[3]
VENDOR = STATIC_DIR / "vendor"
WEB_SRC = ROOT / "web-src"
BUNDLE = "zxing.min.js"
WASM = "zxing_reader.wasm"


def _versions() -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = json.loads((VENDOR / "VERSIONS.json").read_text())
    return data


def test_the_bundle_is_committed_whole_and_minified() -> None:
    data = (VENDOR / BUNDLE).read_bytes()
    assert len(data) > 20_000, "the bundle is a stub, not the reader's glue code"
    text = data.decode()
    assert text.startswith("(()=>{") and text.rstrip().endswith("})();"), "one IIFE, as esbuild --format=iife makes"
    assert "EDLZXing" in text and "decodeCanvas" in text, "the global the verifier page calls"
    assert max(len(line) for line in text.splitlines()) > 10_000, "minified"
    assert "sourceMappingURL" not in text, "no source map is served"
    assert not re.search(r"https?://(?!www\.w3\.org)[a-z0-9.-]+\.[a-z]{2,}/[^\s\"']*\.js", text), "no CDN loads"


def test_the_module_is_committed_whole() -> None:
    data = (VENDOR / WASM).read_bytes()
    assert data[:8] == b"\0asm\x01\0\0\0", "a WebAssembly binary module, version 1"
    assert len(data) > 500_000, "the module is a stub, not ZXing-C++"


def test_the_bundle_fetches_the_module_only_where_the_page_says() -> None:
    text = (VENDOR / BUNDLE).read_text()
    assert "locateFile" in text and "dataset.wasm" in text, "the module address comes from the script tag"


@pytest.mark.parametrize("name", [BUNDLE, WASM])
def test_the_recorded_hash_is_the_built_file(name: str) -> None:
    entry = _versions()[name]
    assert entry["sha256"] == hashlib.sha256((VENDOR / name).read_bytes()).hexdigest(), (
        f"{name} changed without VERSIONS.json: rebuild with `bash scripts/build-vendor`"
    )
    assert entry["version"] == _versions()[BUNDLE]["version"], "glue code and module from one release"


def test_the_lock_file_pins_the_recorded_version() -> None:
    entry = _versions()[BUNDLE]
    lock = json.loads((WEB_SRC / "package-lock.json").read_text())
    pinned = lock["packages"][f"node_modules/{entry['name']}"]
    assert pinned["version"] == entry["version"]
    assert pinned["integrity"].startswith("sha512-"), "npm ci checks the tarball against the lock file"
    manifest = json.loads((WEB_SRC / "package.json").read_text())
    assert manifest["dependencies"][entry["name"]] == entry["version"], "installed with --save-exact"
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["devDependencies"]["esbuild"]), "esbuild pinned exactly"
    assert lock["packages"][""]["dependencies"] == manifest["dependencies"], "lock file and package.json agree"


@pytest.mark.parametrize(
    ("name", "words"),
    [(BUNDLE, "Permission is hereby granted"), (WASM, "Apache License")],  # zxing-wasm: MIT; ZXing-C++: Apache-2.0
)
def test_each_file_names_its_licence_and_the_licence_ships_beside_it(name: str, words: str) -> None:
    assert words in (VENDOR / _versions()[name]["license"]).read_text()


def test_the_page_serves_it_with_a_cache_busting_version() -> None:
    assert f"vendor/{BUNDLE}" in static_versions()
    assert f"vendor/{WASM}" in static_versions()


WALLET = "wallet.min.js"


def test_the_wallet_bundle_is_the_recorded_build_of_the_pinned_libraries() -> None:
    """static/vendor/wallet.min.js (the driver app's wallet, issue 15) is web-src/src/wallet-*.js with cbor-x and
    jose as the lock file pins them, built by `bash scripts/build-vendor`."""
    data = (VENDOR / WALLET).read_bytes()
    entry = _versions()[WALLET]
    assert entry["sha256"] == hashlib.sha256(data).hexdigest(), "rebuild with `bash scripts/build-vendor`"
    text = data.decode()
    assert text.startswith("(()=>{") and "EDLWallet" in text and "sourceMappingURL" not in text
    lock = json.loads((WEB_SRC / "package-lock.json").read_text())
    manifest = json.loads((WEB_SRC / "package.json").read_text())
    versions = []
    for name in ("cbor-x", "jose"):
        pinned = lock["packages"][f"node_modules/{name}"]
        assert manifest["dependencies"][name] == pinned["version"], "installed with --save-exact"
        assert pinned["integrity"].startswith("sha512-")
        versions.append(pinned["version"])
    assert entry["version"] == "+".join(versions)
    licence = (VENDOR / entry["license"]).read_text()
    assert licence.count("Permission is hereby granted") == 2, "both MIT licences ship beside the bundle"
