"""Tolerant reading and v1.2 writing of the wire layer."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from interconn.errors import MalformedRequest
from interconn.wire import (
    SHANGHAI,
    AuditConfirmBase,
    AuditIdParams,
    ComponentDetail,
    ComponentListParams,
    ComponentQueryParams,
    ComponentSummary,
    ContractApplyRequest,
    ContractApplyResponse,
    ContractConfirmRequest,
    ContractQueryParams,
    ContractQueryResponse,
    ContractTerminateRequest,
    DatasetAuditApplyRequest,
    DatasetAuditConfirmRequest,
    DatasetAuditQueryParams,
    DatasetAuditQueryResponse,
    DatasetAuditTerminateRequest,
    DatasetDetail,
    DatasetListParams,
    DatasetQueryParams,
    DatasetSummary,
    Envelope,
    FlowAuditApplyRequest,
    FlowAuditConfirmRequest,
    FlowAuditQueryParams,
    FlowAuditQueryResponse,
    FlowAuditTerminateRequest,
    JobAuditApplyRequest,
    JobAuditConfirmRequest,
    JobAuditQueryParams,
    JobAuditQueryResponse,
    JobAuditTerminateRequest,
    ModelAuditApplyRequest,
    ModelAuditConfirmRequest,
    ModelAuditQueryParams,
    ModelAuditQueryResponse,
    ModelAuditTerminateRequest,
    NodeHealthParams,
    NodeHealthResponse,
    NodeInfo,
    NodeQueryParams,
    NodeUpdateRequest,
    PageData,
    ProjectAuditApplyRequest,
    ProjectAuditConfirmRequest,
    ProjectAuditQueryParams,
    ProjectAuditQueryResponse,
    ProjectAuditTerminateRequest,
    ProjectDetail,
    ProjectListParams,
    ProjectQueryParams,
    ProjectSummary,
    ProjectType,
    ResourcePermit,
    ScopeType,
    Status,
    WireModel,
    error,
    ok,
    parse_body,
    parse_query,
)


def body(obj: Any) -> bytes:
    return json.dumps(obj).encode()


# --------------------------------------------------------------------------- EpochMs

INSTANT = datetime(2024, 3, 1, 4, 0, tzinfo=UTC)
INSTANT_MS = 1_709_265_600_000


@pytest.mark.parametrize(
    "raw",
    [
        INSTANT_MS,  # epoch ms (v1.1+)
        INSTANT_MS // 1000,  # epoch seconds (seen in the wild)
        float(INSTANT_MS),
        str(INSTANT_MS),
        str(INSTANT_MS // 1000),
        f" {INSTANT_MS} ",
        "2024-03-01T04:00:00Z",
        "2024-03-01T04:00:00+00:00",
        "2024-03-01T12:00:00+08:00",
        "2024-02-29T23:00:00-05:00",
        "2024-03-01T12:00:00",  # naive ISO = Asia/Shanghai
        "2024-03-01 12:00:00",
        INSTANT,
        INSTANT.astimezone(SHANGHAI),
    ],
)
def test_epoch_ms_forms_read_as_the_same_utc_instant(raw: Any) -> None:
    if isinstance(raw, datetime):  # built in Python from an aware datetime
        info = NodeInfo(node_id="n1", expired_time=raw)
    else:
        info = parse_body(NodeInfo, body({"node_id": "n1", "expired_time": raw}))
    assert info.expired_time == INSTANT
    assert info.expired_time is not None and info.expired_time.utcoffset() == timedelta(0)
    sent = info.wire_dict()["expired_time"]
    assert sent == INSTANT_MS and type(sent) is int


def test_epoch_ms_keeps_millisecond_precision_only() -> None:
    info = NodeInfo(node_id="n", expired_time="2024-03-01T04:00:00.123987Z")
    assert info.wire_dict()["expired_time"] == INSTANT_MS + 123
    assert info.expired_time == INSTANT + timedelta(milliseconds=123)


def test_epoch_ms_python_dump_keeps_datetime() -> None:
    info = NodeInfo(node_id="n", expired_time=INSTANT_MS)
    assert info.model_dump()["expired_time"] == INSTANT


@pytest.mark.parametrize("raw", ["yesterday", True, [1], {"t": 1}, 10**20, "2024-13-01T00:00:00"])
def test_epoch_ms_rejects_garbage(raw: Any) -> None:
    with pytest.raises(MalformedRequest) as err:
        parse_body(NodeInfo, body({"node_id": "n", "expired_time": raw}))
    assert "expired_time" in err.value.msg


def test_epoch_ms_rejects_naive_datetime_object() -> None:
    with pytest.raises(ValidationError):
        NodeInfo(node_id="n", expired_time=datetime(2024, 3, 1, 12))


@pytest.mark.parametrize("raw", ["", "  ", None])
def test_blank_optional_time_is_absent(raw: Any) -> None:
    info = parse_body(NodeInfo, body({"node_id": "n", "expired_time": raw}))
    assert info.expired_time is None
    assert "expired_time" not in info.wire_dict()


# --------------------------------------------------------------------------- JsonObject

DAG = {"components": [{"name": "intersect_1", "componentName": "Intersection"}], "version": "2"}
CONF = {"initiator": {"role": "guest", "node_id": "n1"}, "role": {"guest": ["n1"]}}


@pytest.mark.parametrize("encode", [False, True])
def test_dag_and_config_as_object_or_json_string(encode: bool) -> None:
    def wrap(obj: dict[str, Any]) -> Any:
        return json.dumps(obj) if encode else obj

    flow = parse_body(
        FlowAuditApplyRequest, body({"audit_id": "a1", "dag": wrap(DAG), "config": wrap(CONF)})
    )
    assert flow.dag == DAG and flow.config == CONF
    assert flow.wire_dict()["dag"] == DAG  # always sent as an object
    job = parse_body(
        JobAuditApplyRequest, body({"audit_id": "a", "job_id": "j", "config": wrap(CONF)})
    )
    assert job.config == CONF and job.dag is None


@pytest.mark.parametrize("dag", ["[1, 2]", '"text"', "42", "{not json", "null"])
def test_dag_json_string_that_is_not_an_object_is_malformed(dag: str) -> None:
    with pytest.raises(MalformedRequest) as err:
        parse_body(FlowAuditApplyRequest, body({"audit_id": "a1", "dag": dag}))
    assert err.value.code_name == "MALFORMED_BODY"
    assert "dag" in err.value.msg


def test_dag_is_required_for_flow_and_config_for_job() -> None:
    with pytest.raises(MalformedRequest, match="dag"):
        parse_body(FlowAuditApplyRequest, body({"audit_id": "a1"}))
    with pytest.raises(MalformedRequest, match="config"):
        parse_body(JobAuditApplyRequest, body({"audit_id": "a1", "job_id": "j"}))


# --------------------------------------------------------------------------- node update

NODE = {
    "node_id": "n1",
    "inst_id": "i1",
    "name": "Node One",
    "institution": "Bank",
    "address": "https://n1.example:8443",
    "system": "interconn",
    "system_version": "0.1.0",
    "auth_type": "SHA256_ECDSA",
    "auth_credential": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
    "expired_time": "2024-03-01T12:00:00",
}


def test_node_update_nested_and_flat_forms_normalize_the_same() -> None:
    nested = parse_body(NodeUpdateRequest, body({"contract_id": "c1", "node_info": NODE}))
    flat = parse_body(NodeUpdateRequest, body({"contract_id": "c1", **NODE}))
    as_string = parse_body(
        NodeUpdateRequest, body({"contract_id": "c1", "node_info": json.dumps(NODE)})
    )
    assert nested == flat == as_string
    assert nested.node_info.expired_time == INSTANT
    v12 = flat.to_v12()
    assert "node_info" not in v12
    assert v12 == {"contract_id": "c1", **NODE, "expired_time": INSTANT_MS}
    assert parse_body(NodeUpdateRequest, body(v12)) == flat


def test_node_update_requires_contract_and_node_id() -> None:
    with pytest.raises(MalformedRequest) as err:
        parse_body(NodeUpdateRequest, body({"name": "x"}))
    assert "contract_id" in err.value.msg and "node_info.node_id" in err.value.msg


# --------------------------------------------------------------------------- permits

PERMIT = {
    "token": "tok-1",
    "resource_level": "DATASET",
    "resource_type": "dataset",
    "resource_id": "d1",
    "resource_node_id": "n2",
    "resource_inst_id": "i2",
    "request_node_id": "n1",
    "request_inst_id": "i1",
    "time_limit": 1_800_000_000_000,
    "times_limit": 10,
}


def test_v10_resourse_misspelling_is_read() -> None:
    v10 = {k.replace("resource_", "resourse_"): v for k, v in PERMIT.items()}
    assert "resourse_id" in v10
    confirm = parse_body(
        DatasetAuditConfirmRequest,
        body({"audit_id": "a1", "status": "APPROVED", "resource_permit": v10}),
    )
    assert confirm.resource_permit == ResourcePermit(**PERMIT)
    assert confirm.wire_dict()["resource_permit"] == PERMIT  # sent with the right spelling


@pytest.mark.parametrize("model", [JobAuditConfirmRequest, ModelAuditConfirmRequest])
def test_permit_as_string_is_a_token(model: type[AuditConfirmBase]) -> None:
    raw = {"audit_id": "a", "status": "APPROVED", "resource_permit": "t1"}
    confirm = parse_body(model, body(raw))
    assert confirm.resource_permit == ResourcePermit(token="t1")
    assert confirm.wire_dict()["resource_permit"] == {"token": "t1"}


def test_permit_as_json_string_object_and_blank() -> None:
    parsed = parse_body(
        ProjectAuditConfirmRequest,
        body({"audit_id": "a", "status": "APPROVED", "resource_permit": json.dumps(PERMIT)}),
    )
    assert parsed.resource_permit == ResourcePermit(**PERMIT)
    blanks: list[Any] = ["", {}, None]
    for blank in blanks:
        rejected = parse_body(
            ProjectAuditConfirmRequest,
            body({"audit_id": "a", "status": "REJECTED", "resource_permit": blank}),
        )
        assert rejected.resource_permit is None


# --------------------------------------------------------------------------- queries


@pytest.mark.parametrize("key", ["auditId", "audit_id"])
@pytest.mark.parametrize(
    "model",
    [
        DatasetAuditQueryParams,
        ProjectAuditQueryParams,
        FlowAuditQueryParams,
        JobAuditQueryParams,
        ModelAuditQueryParams,
    ],
)
def test_audit_id_spellings(key: str, model: type[AuditIdParams]) -> None:
    assert parse_query(model, {key: "a1"}).audit_id == "a1"


@pytest.mark.parametrize("key", ["contractId", "contract_Id", "contract_id"])
def test_contract_id_spellings(key: str) -> None:
    assert parse_query(ContractQueryParams, {key: "c1"}).contract_id == "c1"
    assert parse_query(ComponentListParams, {key: "c1"}).contract_id == "c1"


def test_other_query_aliases_and_blanks() -> None:
    assert parse_query(ProjectQueryParams, {"projectId": "p"}).project_id == "p"
    assert parse_query(DatasetQueryParams, {"datasetId": "d"}).dataset_id == "d"
    assert parse_query(NodeQueryParams, {"nodeId": "n"}).node_id == "n"
    listed = parse_query(DatasetListParams, {"name": "", "dataset_id": " ", "page_num": "2"})
    assert listed.name is None and listed.dataset_id is None and listed.page_num == 2


def test_query_errors() -> None:
    with pytest.raises(MalformedRequest) as err:
        parse_query(FlowAuditQueryParams, {})
    assert err.value.code_name == "MALFORMED_QUERY" and "audit_id" in err.value.msg
    with pytest.raises(MalformedRequest, match="contract_id") as err:
        parse_query(ContractQueryParams, {"contractId": "a", "contract_id": "b"})
    assert err.value.code_name == "MALFORMED_QUERY"
    # the same value under two spellings is fine
    assert parse_query(ContractQueryParams, {"contractId": "a", "contract_id": "a"})


# --------------------------------------------------------------------------- paging


def test_page_defaults_and_all() -> None:
    page = parse_query(DatasetListParams, {})
    assert (page.page_num, page.page_size, page.offset, page.limit) == (1, 20, 0, 20)
    everything = parse_query(ProjectListParams, {"page_size": "-1", "page_num": "3"})
    assert everything.limit is None and everything.offset == 0
    third = parse_query(ComponentListParams, {"page_size": "1000", "page_num": "3"})
    assert (third.offset, third.limit) == (2000, 1000)


@pytest.mark.parametrize(
    "params",
    [
        {"page_size": "0"},
        {"page_size": "1001"},
        {"page_size": "-2"},
        {"page_num": "0"},
        {"page_size": "ten"},
    ],
)
def test_page_rejects_bad_values(params: dict[str, str]) -> None:
    for model in (DatasetListParams, ProjectListParams, ComponentListParams):
        with pytest.raises(MalformedRequest) as err:
            parse_query(model, params)
        assert next(iter(params)) in err.value.msg


def test_page_data_generic() -> None:
    page = PageData[DatasetSummary].model_validate(
        {"total": 1, "records": [{"dataset_id": "d1", "count": "7", "x-vendor": 1}]}
    )
    assert page.records[0].count == 7
    assert page.wire_dict() == {"total": 1, "records": [{"dataset_id": "d1", "count": 7}]}


# --------------------------------------------------------------------------- contracts


CREDS = {"auth_type": "SM2", "auth_credential": "PEM", "expired_time": INSTANT_MS}


@pytest.mark.parametrize("drop", ["auth_type", "auth_credential", "expired_time"])
def test_contract_confirm_approved_needs_credential_and_expiry(drop: str) -> None:
    fields = {k: v for k, v in CREDS.items() if k != drop}
    with pytest.raises(MalformedRequest, match=drop):
        parse_body(
            ContractConfirmRequest, body({"contract_id": "c", "status": "APPROVED", **fields})
        )


def test_contract_confirm_status() -> None:
    approved = parse_body(
        ContractConfirmRequest, body({"contract_id": "c", "status": "approved", **CREDS})
    )
    assert approved.status is Status.APPROVED
    rejected = parse_body(ContractConfirmRequest, body({"contract_id": "c", "status": "REJECTED"}))
    assert rejected.auth_credential is None
    for bad in ("APPLIED", "TERMINATED", "MAYBE"):
        with pytest.raises(MalformedRequest, match="status"):
            parse_body(ContractConfirmRequest, body({"contract_id": "c", "status": bad, **CREDS}))


def test_contract_apply_terminate_and_extra_fields() -> None:
    apply = parse_body(
        ContractApplyRequest, body({**NODE, "vendor_extra": {"a": 1}, "node_id": 10001})
    )
    assert apply.node_id == "10001"  # numbers for strings are tolerated
    assert "vendor_extra" not in apply.wire_dict()
    with pytest.raises(MalformedRequest, match="auth_credential"):
        parse_body(ContractApplyRequest, body({**NODE, "auth_credential": "  "}))
    term = parse_body(
        ContractTerminateRequest, body({"contract_id": "c", "status": "??", "expired_time": "x"})
    )
    assert term.wire_dict() == {"contract_id": "c"}


# --------------------------------------------------------------------------- body errors


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b"\xff\xfe", "UTF-8"),
        (b'"text"', "JSON object"),
    ],
)
def test_invalid_body_is_malformed(raw: bytes, needle: str) -> None:
    with pytest.raises(MalformedRequest, match=needle) as err:
        parse_body(ContractTerminateRequest, raw)
    assert err.value.code == 10001 and err.value.http_status == 400


def test_empty_body_names_missing_fields() -> None:
    with pytest.raises(MalformedRequest) as err:
        parse_body(DatasetAuditApplyRequest, b"")
    fields = {p["field"] for p in err.value.data["errors"]}
    assert fields == {"audit_id", "contract_id", "dataset_id"}
    assert "audit_id" in err.value.msg


# --------------------------------------------------------------------------- datasets/projects


@pytest.mark.parametrize("encode", [False, True])
def test_dataset_audit_apply_scope_and_v10_fields(encode: bool) -> None:
    scope = {"PROJECT": ["p1"], "component": ["psi"]}
    apply = parse_body(
        DatasetAuditApplyRequest,
        body(
            {
                "audit_id": "a",
                "contract_id": "c",
                "dataset_id": "d",
                "auth_scope": json.dumps(scope) if encode else scope,
                "time_limit": 1_800_000_000_000,
                "times_limit": "5",
                "authority_list": [1, 2],
                "column_names": ["x"],
                "differential_budget": 0.5,
                "max_task_usage": 3,
                "prevent_differential_privacy_attack": True,
                "scope_id": "s",
                "expired_time": "2024-03-01T12:00:00",
            }
        ),
    )
    assert apply.auth_scope == {ScopeType.PROJECT: ["p1"], ScopeType.COMPONENT: ["psi"]}
    assert apply.times_limit == 5 and apply.expired_time == INSTANT
    assert apply.wire_dict()["auth_scope"] == {"PROJECT": ["p1"], "COMPONENT": ["psi"]}


@pytest.mark.parametrize(
    "extra", [{"auth_scope": {"GALAXY": ["x"]}}, {"auth_scope": "NODE"}, {"times_limit": 2**31}]
)
def test_dataset_audit_apply_rejects(extra: dict[str, Any]) -> None:
    with pytest.raises(MalformedRequest, match=next(iter(extra))):
        parse_body(
            DatasetAuditApplyRequest,
            body({"audit_id": "a", "contract_id": "c", "dataset_id": "d", **extra}),
        )


def test_dataset_detail_requires_column_metas_list_does_not() -> None:
    assert DatasetSummary.model_validate({"dataset_id": "d"}).column_metas is None
    with pytest.raises(ValidationError, match="column_metas"):
        DatasetDetail.model_validate({"dataset_id": "d"})
    detail = DatasetDetail.model_validate(
        {
            "dataset_id": "d",
            "column_metas": [
                {"name": "age", "distribution": "CONTINUOUS"},
                {"name": "id", "distribution": "OTHER"},
            ],
            "creator": 7,
            "join_columns": ["id"],
            "label_columns": ["y"],
            "create_time": 1700000000,
        }
    )
    assert detail.column_metas[1].distribution == "OTHER"
    assert detail.wire_dict()["create_time"] == 1_700_000_000_000


def test_project_type_tolerates_unknown_and_detail_maps() -> None:
    known = ProjectSummary.model_validate({"project_id": "p", "type": "PSI"})
    assert known.type is ProjectType.PSI
    assert ProjectSummary.model_validate({"project_id": "p", "type": "TEE"}).type == "TEE"
    detail = ProjectDetail.model_validate(
        {"project_id": "p", "nodes": ["n1", "n2"], "datasets": {"n1": ["d1"], "n2": []}}
    )
    assert detail.datasets == {"n1": ["d1"], "n2": []}


# --------------------------------------------------------------------------- envelope


def test_envelope_helpers() -> None:
    assert ok() == {"code": 0, "msg": "success", "data": {}}
    assert ok(NodeHealthResponse(status="UP")) == {
        "code": 0,
        "msg": "success",
        "data": {"status": "UP"},
    }
    assert error(10001, "bad", {"f": 1}) == {"code": 10001, "msg": "bad", "data": {"f": 1}}
    assert Envelope.model_validate({"code": 200, "data": {}}).is_ok
    assert not Envelope.model_validate({"code": 10301, "msg": "x"}).is_ok


# --------------------------------------------------------------------------- all 33 endpoints

SAMPLES: list[tuple[type[WireModel], dict[str, Any]]] = [
    (ContractApplyRequest, NODE),  # 3
    (ContractApplyResponse, {"contract_id": "c", "status": "APPLIED", **CREDS}),
    (ContractConfirmRequest, {"contract_id": "c", "status": "APPROVED", **CREDS}),  # 4
    (ContractTerminateRequest, {"contract_id": "c"}),  # 5
    (NodeUpdateRequest, {"contract_id": "c", "node_info": NODE}),  # 6
    (ContractQueryParams, {"contract_id": "c"}),  # 7
    (ContractQueryResponse, {"contract_id": "c", "status": "APPROVED", **CREDS}),
    (NodeQueryParams, {"node_id": "n"}),  # 8
    (NodeInfo, NODE),
    (NodeHealthParams, {"flag": "1"}),  # 9
    (NodeHealthResponse, {"status": "UP"}),
    (DatasetListParams, {"contract_id": "c", "page_size": 5}),  # 10
    (DatasetSummary, {"dataset_id": "d", "count": 3, "join_columns": ["id"]}),
    (DatasetQueryParams, {"dataset_id": "d"}),  # 11
    (DatasetDetail, {"dataset_id": "d", "column_metas": [{"name": "id"}], "row_cnt": 3}),
    (DatasetAuditApplyRequest, {"audit_id": "a", "contract_id": "c", "dataset_id": "d"}),  # 12
    (
        DatasetAuditConfirmRequest,
        {"audit_id": "a", "status": "APPROVED", "resource_permit": PERMIT},
    ),  # 13
    (DatasetAuditTerminateRequest, {"audit_id": "a"}),  # 14
    (
        DatasetAuditQueryResponse,
        {"status": "APPROVED", "time_limit": 5, "resource_permit": PERMIT},
    ),  # 15
    (
        ProjectAuditApplyRequest,
        {
            "audit_id": "a",
            "project_id": "p",
            "type": "MPC",
            "datasets": [{"dataset_id": "d", "creator": "alice"}],
        },
    ),  # 16
    (ProjectAuditConfirmRequest, {"audit_id": "a", "status": "REJECTED"}),  # 17
    (ProjectAuditTerminateRequest, {"audit_id": "a", "status": "TERMINATED"}),  # 18
    (ProjectAuditQueryResponse, {"status": "APPLIED"}),  # 19
    (ProjectListParams, {"page_num": 2}),  # 20
    (ProjectSummary, {"project_id": "p", "contract_ids": ["c"], "join_time": INSTANT_MS}),
    (ProjectQueryParams, {"project_id": "p"}),  # 21
    (ProjectDetail, {"project_id": "p", "nodes": ["n"], "datasets": {"n": ["d"]}}),
    (ComponentListParams, {"engine": "AVATAR", "page_size": 1000}),  # 22
    (ComponentSummary, {"code": "psi", "version": "1.0.0", "status": "ENABLED"}),
    (ComponentQueryParams, {"code": "psi", "version": "1.0.0"}),  # 23
    (ComponentDetail, {"code": "psi", "version": "1", "inputs": [{"k": 1}], "extension": "{}"}),
    (FlowAuditApplyRequest, {"audit_id": "a", "dag": DAG}),  # 24
    (FlowAuditConfirmRequest, {"audit_id": "a", "status": "APPROVED", "approver": "x"}),  # 25
    (FlowAuditTerminateRequest, {"audit_id": "a", "remote_node": "n"}),  # 26
    (FlowAuditQueryResponse, {"status": "REJECTED"}),  # 27
    (
        JobAuditApplyRequest,
        {"audit_id": "a", "job_id": "j", "config": CONF, "resource_info": {"cpu": 2}},
    ),  # 28
    (JobAuditConfirmRequest, {"audit_id": "a", "status": "APPROVED", "job_id": "j"}),  # 29
    (JobAuditTerminateRequest, {"audit_id": "a", "job_id": "j"}),  # 30
    (JobAuditQueryResponse, {"status": "TERMINATED"}),  # 31
    (ModelAuditApplyRequest, {"audit_id": "a", "model_id": "m", "digest": "sha"}),  # 32
    (
        ModelAuditConfirmRequest,
        {"audit_id": "a", "status": "APPROVED", "resource_permit": "tok"},
    ),  # 33
    (ModelAuditTerminateRequest, {"audit_id": "a", "resource_permit": "tok"}),  # 34
    (ModelAuditQueryResponse, {"status": "APPROVED"}),  # 35
]


@pytest.mark.parametrize(("model", "sample"), SAMPLES, ids=[m.__name__ for m, _ in SAMPLES])
def test_every_endpoint_reads_and_round_trips(
    model: type[WireModel], sample: dict[str, Any]
) -> None:
    parsed = parse_body(model, body({**sample, "unknown_vendor_field": [1, 2]}))
    sent = parsed.wire_dict()
    assert "unknown_vendor_field" not in sent
    assert parse_body(model, body(sent)) == parsed


# --------------------------------------------------------------------------- property

_text = st.text(st.characters(codec="utf-8"), max_size=40)
_id = _text.filter(lambda s: 0 < len(s.strip()) <= 256)
_opt = st.none() | _text
_zones = st.sampled_from([UTC, SHANGHAI, timezone(timedelta(hours=-5, minutes=-30))])
_times = st.none() | st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(9000, 1, 1), timezones=_zones
)


@given(
    st.builds(
        NodeInfo,
        node_id=_id,
        inst_id=_opt,
        name=_opt,
        institution=_opt,
        address=_opt,
        system=_opt,
        system_version=_opt,
        auth_type=_opt,
        auth_credential=_opt,
        description=_opt,
        expired_time=_times,
    )
)
def test_node_info_round_trip(info: NodeInfo) -> None:
    dumped = info.model_dump(mode="json", by_alias=True)
    assert parse_body(NodeInfo, body(dumped)) == info
    assert parse_body(NodeInfo, body(info.wire_dict())) == info


def test_deeply_nested_body_is_malformed_not_a_crash() -> None:
    with pytest.raises(MalformedRequest, match="nested"):
        parse_body(NodeInfo, b"[" * 100_000)


def test_long_credentials_and_tokens_are_not_truncated_or_refused() -> None:
    pem = "-----BEGIN CERTIFICATE-----\n" + "A" * 3000 + "\n-----END CERTIFICATE-----\n"
    apply = parse_body(
        ContractApplyRequest, body({**NODE, "auth_type": "CERT", "auth_credential": pem})
    )
    assert apply.auth_credential == pem.strip()
    token = "x" * 2000
    confirm = parse_body(
        JobAuditConfirmRequest,
        body({"audit_id": "a", "status": "APPROVED", "resource_permit": token}),
    )
    assert confirm.resource_permit is not None and confirm.resource_permit.token == token
    with pytest.raises(MalformedRequest, match="audit_id"):
        parse_body(JobAuditTerminateRequest, body({"audit_id": "a" * 257}))
