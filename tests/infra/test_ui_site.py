"""The UI's routing rules, on AWS (template.yaml's CloudFront function, run by node) and locally (ui_site).

Both must agree: client-side routes get their bundle's index.html, files are files, a browser
opening / goes to v2 unless its cookie says v1; nothing under /api is ever rewritten.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from infra.local.ui_site import site_path
from infra.template import resources

CASES = [
    # uri, navigation to /, cookie -> (redirect location | rewritten uri)
    ("/", True, None, "redirect:/v2/"),
    ("/", True, "v1", "/index.html"),
    ("/", False, None, "/index.html"),
    ("/dashboard", True, None, "/index.html"),
    ("/runs/flow-run/01a222e5-7c44-7da3-8593-101b86119077", True, None, "/index.html"),
    ("/assets/index-Bny_92F-.js", False, None, "/assets/index-Bny_92F-.js"),
    ("/v2", True, None, "/v2/index.html"),
    ("/v2/", True, None, "/v2/index.html"),
    ("/v2/runs/flow-run/abc", True, None, "/v2/index.html"),
    ("/v2/assets/index-DcpMCR-U.js", False, None, "/v2/assets/index-DcpMCR-U.js"),
    ("/v2/ico/site.webmanifest", False, None, "/v2/ico/site.webmanifest"),
]

HARNESS = """
%s
var cases = %s;
var out = cases.map(function (c) {
  var headers = {host: {value: "d111.cloudfront.net"}};
  if (c[1]) { headers.accept = {value: "text/html,application/xhtml+xml"}; headers["sec-fetch-mode"] = {value: "navigate"}; }
  var cookies = c[2] ? {prefect_ui_version: {value: c[2]}} : {};
  var result = handler({request: {uri: c[0], headers: headers, cookies: cookies, querystring: {}}});
  return result.statusCode ? "redirect:" + result.headers.location.value : result.uri;
});
console.log(JSON.stringify(out));
"""


def _function_code(logical_id: str) -> str:
    return resources("AWS::CloudFront::Function")[logical_id]["Properties"]["FunctionCode"]


@pytest.mark.skipif(shutil.which("node") is None, reason="node runs the CloudFront function")
def test_cloudfront_ui_router_rewrites_client_routes_and_redirects_root_to_v2() -> None:
    script = HARNESS % (_function_code("UiRequestRouter"), json.dumps([list(c[:3]) for c in CASES]))
    result = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [c[3] for c in CASES]


def test_local_site_serves_the_same_files_as_the_cloudfront_function() -> None:
    for uri, _navigation, _cookie, expected in CASES:
        if expected.startswith("redirect:"):
            continue  # the local redirect is checked in the browser tests (tests/ui)
        assert "/" + site_path(uri) == expected, uri


def test_only_the_default_s3_behaviour_rewrites_so_api_errors_stay_api_errors() -> None:
    config = resources("AWS::CloudFront::Distribution")["Distribution"]["Properties"]["DistributionConfig"]
    assert "CustomErrorResponses" not in config
    assert config["DefaultCacheBehavior"]["TargetOriginId"] == "ui"
    behaviours = {b["PathPattern"]: b for b in config["CacheBehaviors"]}
    assert behaviours["/api/*"]["TargetOriginId"] == "rest"
    assert behaviours["/ui-settings"]["TargetOriginId"] == "rest"
    assert not any("UiRequestRouter" in json.dumps(b.get("FunctionAssociations", [])) for b in behaviours.values())
    # The bucket is private: CloudFront reads it through origin access control only.
    ui_origin = next(o for o in config["Origins"] if o["Id"] == "ui")
    assert "OriginAccessControlId" in ui_origin


def test_the_rest_behaviour_comes_after_every_more_specific_api_path() -> None:
    # CloudFront takes the first behaviour whose pattern matches: /api/* must not shadow the websockets.
    patterns = [
        b["PathPattern"]
        for b in resources("AWS::CloudFront::Distribution")["Distribution"]["Properties"]["DistributionConfig"][
            "CacheBehaviors"
        ]
    ]
    rest = patterns.index("/api/*")
    assert all(i < rest for i, p in enumerate(patterns) if p.startswith("/api/") and p != "/api/*")
