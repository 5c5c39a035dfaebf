"""GET /api/admin/version: the answer the edge may cache (issue #13: every prefect client asks twice per flow run)."""

from __future__ import annotations

import httpx

from infra.template import load_template


def test_version_is_marked_cacheable_for_the_edge(client: httpx.Client) -> None:
    response = client.get("/admin/version")
    assert response.status_code == 200
    assert response.json().startswith("3.")
    assert response.headers["cache-control"] == "public, max-age=300"


def test_cloudfront_caches_the_version_before_the_rest_behaviour() -> None:
    resources = load_template()["Resources"]
    behaviours = resources["Distribution"]["Properties"]["DistributionConfig"]["CacheBehaviors"]
    patterns = [b["PathPattern"] for b in behaviours]
    # CloudFront takes the first behaviour that matches: the version's must come before /api/*.
    assert patterns.index("/api/admin/version") < patterns.index("/api/*")
    version = behaviours[patterns.index("/api/admin/version")]
    assert version["TargetOriginId"] == "rest" and version["CachePolicyId"] == {"Ref": "VersionCachePolicy"}
    policy = resources["VersionCachePolicy"]["Properties"]["CachePolicyConfig"]
    # Only what the function marks cacheable, keyed by Origin (CORS answers differ per origin).
    assert policy["DefaultTTL"] == 0
    assert policy["ParametersInCacheKeyAndForwardedToOrigin"]["HeadersConfig"]["Headers"] == ["Origin"]
