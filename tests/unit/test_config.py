from __future__ import annotations

from pathlib import Path

import pytest

from interconn.config import load_settings, write_config
from interconn.errors import OperatorError


def test_defaults(tmp_path: Path) -> None:
    s = load_settings(tmp_path, environ={})
    assert s.partner_port == 8600 and s.admin_host == "127.0.0.1"
    assert s.effective_database_url.startswith("sqlite:///") and s.effective_database_url.endswith(
        "interconn.db"
    )
    assert s.effective_public_address == "http://127.0.0.1:8600"
    assert not s.allow_unsigned_exempt and not s.public_node_info


def test_file_then_env_then_overrides(tmp_path: Path) -> None:
    write_config(
        load_settings(tmp_path, environ={}),
        {"partner_port": 9000, "admin_port": 9001, "public_node_info": True},
    )
    s = load_settings(tmp_path, environ={})
    assert (s.partner_port, s.admin_port, s.public_node_info) == (9000, 9001, True)
    s = load_settings(tmp_path, environ={"INTERCONN_PARTNER_PORT": "9100"})
    assert s.partner_port == 9100 and s.admin_port == 9001
    s = load_settings(tmp_path, environ={"INTERCONN_PARTNER_PORT": "9100"}, partner_port=9200)
    assert s.partner_port == 9200


def test_data_dir_from_env(tmp_path: Path) -> None:
    s = load_settings(None, environ={"INTERCONN_DATA_DIR": str(tmp_path / "x")})
    assert s.data_dir == tmp_path / "x"


def test_invalid_values_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(OperatorError, match="partner_port"):
        load_settings(tmp_path, environ={"INTERCONN_PARTNER_PORT": "many"})
    (tmp_path / "node.toml").write_text("partner_port = [", encoding="utf-8")
    with pytest.raises(OperatorError, match="invalid TOML"):
        load_settings(tmp_path, environ={})
    (tmp_path / "node.toml").write_text("no_such_setting = 1\n", encoding="utf-8")
    with pytest.raises(OperatorError, match="no_such_setting"):
        load_settings(tmp_path, environ={})
