"""Run scripts with the real prefect client pointed at a Serverflow stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

SCRIPTS = Path(__file__).resolve().parent / "scripts"


def prefect_env(api_url: str, home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_API_URL=api_url,
        PREFECT_HOME=home,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_TO_API_BATCH_INTERVAL="0.3",
        PYTHONUNBUFFERED="1",
    )
    return env


def run_script(name: str, api_url: str, *args: str, timeout: float = 180) -> tuple[dict[str, Any], str]:
    with tempfile.TemporaryDirectory(prefix="prefect-home-") as home:
        result = subprocess.run(
            [sys.executable, str(SCRIPTS / name), *args],
            env=prefect_env(api_url, home),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    last = [line for line in result.stdout.splitlines() if line.startswith("{")][-1]
    return json.loads(last), output
