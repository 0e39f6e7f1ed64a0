"""The items service of ``items_fastapi.py``, written with Flask; the wire behaviour is the same.

Flask runs through pywatt-server's WSGI adapter under uvicorn, not the Werkzeug dev server.
"""

from __future__ import annotations

import itertools
from typing import Any

from flask import Flask, Response, abort, jsonify, request

from pywatt.core import AppState
from pywatt.server import serve_module


def create_app(state: AppState[Any]) -> Flask:
    app = Flask(__name__)
    items: dict[int, dict[str, Any]] = {}
    ids = itertools.count(1)

    @app.errorhandler(404)
    def not_found(exc: Exception) -> tuple[Response, int]:
        return jsonify(detail="no such item"), 404

    @app.errorhandler(422)
    def invalid(exc: Exception) -> tuple[Response, int]:
        return jsonify(detail="name must be a string"), 422

    @app.get("/health")
    def health() -> Response:
        return jsonify(status="OK", module=state.module_id)

    @app.get("/items")
    def list_items() -> Response:
        prefix = request.args.get("prefix", "")
        return jsonify([i for i in items.values() if i["name"].startswith(prefix)])

    @app.post("/items")
    def create_item() -> tuple[Response, int]:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            abort(422)
        item = {"id": next(ids), "name": body["name"]}
        items[item["id"]] = item
        return jsonify(item), 201

    @app.get("/items/<int:item_id>")
    def get_item(item_id: int) -> Response:
        if item_id not in items:
            abort(404)
        return jsonify(items[item_id])

    @app.post("/echo")
    def echo() -> Response:
        data = request.get_data()
        return Response(
            data, mimetype="application/octet-stream", headers={"x-echo-length": str(len(data))}
        )

    return app


if __name__ == "__main__":
    serve_module(create_app)
