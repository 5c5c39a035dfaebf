"""POST /templates/validate over HTTP: 204 for a usable Jinja template, 422 with the error otherwise."""

from __future__ import annotations

import httpx


def test_valid_templates_are_204(client: httpx.Client) -> None:
    for template in [
        "hello {{ flow_run.name }}",
        "",
        "{% for a in xs %}{% for b in a %}{{ b }}{% endfor %}{% endfor %}",
    ]:
        response = client.post("/templates/validate", json=template)
        assert response.status_code == 204 and response.content == b"", (template, response.text)
    assert client.post("/templates/validate").status_code == 204  # no body: the empty template


def test_syntax_errors_and_loop_limits_are_422_with_the_error(client: httpx.Client) -> None:
    broken = client.post("/templates/validate", json="hello {{ flow_run.name ")
    assert broken.status_code == 422
    assert broken.json() == {
        "error": {
            "line": 1,
            "message": "unexpected end of template, expected 'end of print statement'.",
            "source": "hello {{ flow_run.name ",
        }
    }
    nested = "{% for a in x %}{% for b in a %}{% for c in b %}{% endfor %}{% endfor %}{% endfor %}"
    deep = client.post("/templates/validate", json=nested)
    assert deep.status_code == 422
    assert deep.json()["error"] == {
        "line": 0,
        "message": "Contains nested for loops at a depth of 3. Templates can nest for loops no more than 2 loops deep.",
        "source": nested,
    }
    many = "".join("{% for a in x %}{% endfor %}" for _ in range(11))
    assert "Contains 11 for loops" in client.post("/templates/validate", json=many).json()["error"]["message"]


def test_a_body_that_is_not_a_string_is_422(client: httpx.Client) -> None:
    response = client.post("/templates/validate", json={"template": "x"})
    assert response.status_code == 422 and response.json()["exception_message"] == "Invalid request received."
    assert client.post("/templates/validate", json=5).status_code == 422
