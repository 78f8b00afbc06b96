"""`asyncpg_params`: the API's asyncpg connections are made from the same SQLAlchemy / libpq URL as the rest of the
app, including a Unix-socket directory given as ``?host=`` and ``-c name=value`` settings in ``options``."""

from __future__ import annotations

from edl.verification.online_pg import asyncpg_params


def test_a_tcp_url_gives_host_port_user_password_and_database() -> None:
    params = asyncpg_params("postgresql+psycopg://edl:s3cret@db-primary:6543/registry")
    assert params == {
        "host": "db-primary",
        "port": 6543,
        "user": "edl",
        "password": "s3cret",
        "database": "registry",
        "server_settings": {},
    }


def test_a_unix_socket_directory_in_the_query_is_the_host() -> None:
    params = asyncpg_params("postgresql+psycopg://edl@/registry?host=/var/run/postgresql")
    assert params["host"] == "/var/run/postgresql" and params["database"] == "registry" and "port" not in params


def test_options_become_server_settings_and_extra_settings_are_added() -> None:
    url = "postgresql+psycopg://edl@h/registry?options=-csearch_path%3Dtest_1%20-c%20statement_timeout%3D5s"
    params = asyncpg_params(url, synchronous_commit="off")
    assert params["server_settings"] == {
        "search_path": "test_1",
        "statement_timeout": "5s",
        "synchronous_commit": "off",
    }
