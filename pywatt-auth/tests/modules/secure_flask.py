"""A Flask module whose /me view needs a JWT; keys come from the JWT_KEYS secret."""

from __future__ import annotations

import json
import os

from flask import Flask, g, jsonify

from pywatt.auth import JwtSettings, build_authenticator
from pywatt.auth.extension import JwtAuth, jwt_required
from pywatt.server import serve_module

SETTINGS = json.loads(os.environ["AUTH_SETTINGS"])


def build(state):
    app = Flask("secure_flask")
    JwtAuth(app, build_authenticator("jwt", JwtSettings(**SETTINGS)))

    @app.get("/me")
    @jwt_required
    def me():
        return jsonify(sub=g.auth_claims["sub"])

    @app.get("/health")
    def health():
        return jsonify(ok=True)

    return app


if __name__ == "__main__":
    serve_module(build)
