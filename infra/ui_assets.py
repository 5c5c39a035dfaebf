"""Prefect's own built UI, taken from the prefect 3.9.1 wheel as a build input.

    python -m infra.ui_assets            # download the wheel (pip download --no-deps) and extract the UI

The wheel ships both UIs as static files: `prefect/server/ui` (v1) and `prefect/server/ui-v2` (v2,
the default). They are Apache-2.0 licensed (the wheel's LICENSE is copied beside them). prefect
itself is never installed into the server's environment: the wheel is only unzipped.

The site is laid out as Serverflow serves it, locally and from S3 alike, like the reference server
with its default `PREFECT_UI_SERVE_BASE=/`: v1 at `/`, v2 under `/v2/`. The bundles' base-URL
placeholder is replaced accordingly when extracting, so the folder is ready to serve or upload.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PREFECT_VERSION = "3.9.1"
REPO_ROOT = Path(__file__).resolve().parent.parent
# Gitignored (build/): the static site, and the downloaded wheel it came from.
SITE_DIR = REPO_ROOT / "build" / "ui"
WHEEL_CACHE = REPO_ROOT / "build" / "wheels"

BASE_URL_PLACEHOLDER = "/PREFECT_UI_SERVE_BASE_REPLACE_PLACEHOLDER"
# Folder in the wheel -> (folder in the site, base URL the bundle is served under).
BUNDLES: dict[str, tuple[str, str]] = {
    "prefect/server/ui/": ("", ""),
    "prefect/server/ui-v2/": ("v2", "/v2"),
}
V2_BASE_URL = "/v2"
V1_BASE_URL = "/"
LICENSE_IN_WHEEL = f"prefect-{PREFECT_VERSION}.dist-info/licenses/LICENSE"
STAMP = ".prefect-ui-version"
# Text files that may carry the placeholder (fonts and images never do).
TEXT_SUFFIXES = {".html", ".js", ".css", ".json", ".webmanifest", ".txt", ".map", ".svg"}


def is_extracted(site: Path = SITE_DIR) -> bool:
    stamp = site / STAMP
    return stamp.exists() and stamp.read_text().strip() == PREFECT_VERSION


def download_wheel(cache: Path = WHEEL_CACHE) -> Path:
    """The prefect wheel, fetched once with pip (no dependencies, nothing installed)."""
    name = f"prefect-{PREFECT_VERSION}-py3-none-any.whl"
    if not (cache / name).exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                f"prefect=={PREFECT_VERSION}",
                "--no-deps",
                "--only-binary=:all:",
                "--quiet",
                "--dest",
                str(cache),
            ],
            check=True,
        )
    return cache / name


def extract(wheel: Path, site: Path = SITE_DIR) -> Path:
    """Unzip both UI bundles into `site` with their base URL filled in; atomic (a temp dir renamed)."""
    site.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".ui-", dir=site.parent))
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.infolist():
            for prefix, (folder, base_url) in BUNDLES.items():
                if not member.filename.startswith(prefix) or member.is_dir():
                    continue
                target = staging / folder / member.filename[len(prefix) :]
                target.parent.mkdir(parents=True, exist_ok=True)
                data = archive.read(member)
                if target.suffix in TEXT_SUFFIXES and BASE_URL_PLACEHOLDER.encode() in data:
                    data = data.replace(BASE_URL_PLACEHOLDER.encode(), base_url.encode())
                target.write_bytes(data)
        (staging / "PREFECT_UI_LICENSE").write_bytes(archive.read(LICENSE_IN_WHEEL))
    if not (staging / "index.html").exists() or not (staging / "v2" / "index.html").exists():
        shutil.rmtree(staging)
        raise RuntimeError(f"{wheel.name} has no UI bundles under {', '.join(BUNDLES)}")
    (staging / STAMP).write_text(PREFECT_VERSION)
    if site.exists():
        shutil.rmtree(site)
    staging.rename(site)
    return site


def ensure_ui(site: Path = SITE_DIR) -> Path:
    """The extracted site, downloading and extracting it only when missing or of another version."""
    if not is_extracted(site):
        print(f"Extracting Prefect {PREFECT_VERSION}'s UI into {site} ...", flush=True)
        extract(download_wheel(), site)
    return site


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.ui_assets", description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="extract again even if already there")
    args = parser.parse_args(argv)
    if args.force and SITE_DIR.exists():
        shutil.rmtree(SITE_DIR)
    print(ensure_ui())


if __name__ == "__main__":
    main()
