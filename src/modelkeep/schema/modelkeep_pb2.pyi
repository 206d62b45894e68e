from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DatasetRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DATASET_ROLE_UNSPECIFIED: _ClassVar[DatasetRole]
    DATASET_ROLE_TRAIN: _ClassVar[DatasetRole]
    DATASET_ROLE_VALIDATION: _ClassVar[DatasetRole]
    DATASET_ROLE_TEST: _ClassVar[DatasetRole]

class LoaderKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LOADER_KIND_UNSPECIFIED: _ClassVar[LoaderKind]
    LOADER_KIND_PYTHON: _ClassVar[LoaderKind]
    LOADER_KIND_ONNX: _ClassVar[LoaderKind]
    LOADER_KIND_SKOPS: _ClassVar[LoaderKind]
    LOADER_KIND_SAFETENSORS: _ClassVar[LoaderKind]
    LOADER_KIND_PICKLE: _ClassVar[LoaderKind]
    LOADER_KIND_HOSTED: _ClassVar[LoaderKind]

class SpecSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SPEC_SOURCE_UNSPECIFIED: _ClassVar[SpecSource]
    SPEC_SOURCE_DECLARED: _ClassVar[SpecSource]
    SPEC_SOURCE_INFERRED: _ClassVar[SpecSource]
DATASET_ROLE_UNSPECIFIED: DatasetRole
DATASET_ROLE_TRAIN: DatasetRole
DATASET_ROLE_VALIDATION: DatasetRole
DATASET_ROLE_TEST: DatasetRole
LOADER_KIND_UNSPECIFIED: LoaderKind
LOADER_KIND_PYTHON: LoaderKind
LOADER_KIND_ONNX: LoaderKind
LOADER_KIND_SKOPS: LoaderKind
LOADER_KIND_SAFETENSORS: LoaderKind
LOADER_KIND_PICKLE: LoaderKind
LOADER_KIND_HOSTED: LoaderKind
SPEC_SOURCE_UNSPECIFIED: SpecSource
SPEC_SOURCE_DECLARED: SpecSource
SPEC_SOURCE_INFERRED: SpecSource

class Scalar(_message.Message):
    __slots__ = ("string_value", "int_value", "float_value", "bool_value")
    STRING_VALUE_FIELD_NUMBER: _ClassVar[int]
    INT_VALUE_FIELD_NUMBER: _ClassVar[int]
    FLOAT_VALUE_FIELD_NUMBER: _ClassVar[int]
    BOOL_VALUE_FIELD_NUMBER: _ClassVar[int]
    string_value: str
    int_value: int
    float_value: float
    bool_value: bool
    def __init__(self, string_value: _Optional[str] = ..., int_value: _Optional[int] = ..., float_value: _Optional[float] = ..., bool_value: bool = ...) -> None: ...

class ModelMetadata(_message.Message):
    __slots__ = ("schema_version", "identity", "components", "technical", "performance", "deployment")
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    COMPONENTS_FIELD_NUMBER: _ClassVar[int]
    TECHNICAL_FIELD_NUMBER: _ClassVar[int]
    PERFORMANCE_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    schema_version: int
    identity: Identity
    components: Components
    technical: Technical
    performance: Performance
    deployment: Deployment
    def __init__(self, schema_version: _Optional[int] = ..., identity: _Optional[_Union[Identity, _Mapping]] = ..., components: _Optional[_Union[Components, _Mapping]] = ..., technical: _Optional[_Union[Technical, _Mapping]] = ..., performance: _Optional[_Union[Performance, _Mapping]] = ..., deployment: _Optional[_Union[Deployment, _Mapping]] = ...) -> None: ...

class Identity(_message.Message):
    __slots__ = ("id", "name", "version", "created", "author", "team", "project", "description", "tags")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    version: str
    created: _timestamp_pb2.Timestamp
    author: str
    team: str
    project: str
    description: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., version: _Optional[str] = ..., created: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., author: _Optional[str] = ..., team: _Optional[str] = ..., project: _Optional[str] = ..., description: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ...) -> None: ...

class Components(_message.Message):
    __slots__ = ("code", "datasets", "pipeline", "hyperparameters", "artifacts")
    class HyperparametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Scalar
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Scalar, _Mapping]] = ...) -> None: ...
    CODE_FIELD_NUMBER: _ClassVar[int]
    DATASETS_FIELD_NUMBER: _ClassVar[int]
    PIPELINE_FIELD_NUMBER: _ClassVar[int]
    HYPERPARAMETERS_FIELD_NUMBER: _ClassVar[int]
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    code: CodeComponent
    datasets: _containers.RepeatedCompositeFieldContainer[DatasetComponent]
    pipeline: PipelineComponent
    hyperparameters: _containers.MessageMap[str, Scalar]
    artifacts: ArtifactsComponent
    def __init__(self, code: _Optional[_Union[CodeComponent, _Mapping]] = ..., datasets: _Optional[_Iterable[_Union[DatasetComponent, _Mapping]]] = ..., pipeline: _Optional[_Union[PipelineComponent, _Mapping]] = ..., hyperparameters: _Optional[_Mapping[str, Scalar]] = ..., artifacts: _Optional[_Union[ArtifactsComponent, _Mapping]] = ...) -> None: ...

class CodeComponent(_message.Message):
    __slots__ = ("repository", "commit", "branch", "dirty", "diff", "snapshot")
    REPOSITORY_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    DIRTY_FIELD_NUMBER: _ClassVar[int]
    DIFF_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    repository: str
    commit: str
    branch: str
    dirty: bool
    diff: str
    snapshot: str
    def __init__(self, repository: _Optional[str] = ..., commit: _Optional[str] = ..., branch: _Optional[str] = ..., dirty: bool = ..., diff: _Optional[str] = ..., snapshot: _Optional[str] = ...) -> None: ...

class ProcessingStep(_message.Message):
    __slots__ = ("name", "params")
    class ParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Scalar
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Scalar, _Mapping]] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    name: str
    params: _containers.MessageMap[str, Scalar]
    def __init__(self, name: _Optional[str] = ..., params: _Optional[_Mapping[str, Scalar]] = ...) -> None: ...

class DatasetComponent(_message.Message):
    __slots__ = ("name", "role", "tree", "source", "preprocessing", "augmentation")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    TREE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PREPROCESSING_FIELD_NUMBER: _ClassVar[int]
    AUGMENTATION_FIELD_NUMBER: _ClassVar[int]
    name: str
    role: DatasetRole
    tree: str
    source: str
    preprocessing: _containers.RepeatedCompositeFieldContainer[ProcessingStep]
    augmentation: _containers.RepeatedCompositeFieldContainer[ProcessingStep]
    def __init__(self, name: _Optional[str] = ..., role: _Optional[_Union[DatasetRole, str]] = ..., tree: _Optional[str] = ..., source: _Optional[str] = ..., preprocessing: _Optional[_Iterable[_Union[ProcessingStep, _Mapping]]] = ..., augmentation: _Optional[_Iterable[_Union[ProcessingStep, _Mapping]]] = ...) -> None: ...

class PipelineComponent(_message.Message):
    __slots__ = ("tree", "scripts", "config_files", "command")
    TREE_FIELD_NUMBER: _ClassVar[int]
    SCRIPTS_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FILES_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    tree: str
    scripts: _containers.RepeatedScalarFieldContainer[str]
    config_files: _containers.RepeatedScalarFieldContainer[str]
    command: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, tree: _Optional[str] = ..., scripts: _Optional[_Iterable[str]] = ..., config_files: _Optional[_Iterable[str]] = ..., command: _Optional[_Iterable[str]] = ...) -> None: ...

class ArtifactsComponent(_message.Message):
    __slots__ = ("tree", "format", "size_bytes")
    TREE_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    tree: str
    format: str
    size_bytes: int
    def __init__(self, tree: _Optional[str] = ..., format: _Optional[str] = ..., size_bytes: _Optional[int] = ...) -> None: ...

class Technical(_message.Message):
    __slots__ = ("framework", "dependencies", "hardware", "signature", "model_size_bytes", "parameters", "memory_bytes", "loader", "fingerprint")
    FRAMEWORK_FIELD_NUMBER: _ClassVar[int]
    DEPENDENCIES_FIELD_NUMBER: _ClassVar[int]
    HARDWARE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    MODEL_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    LOADER_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    framework: Framework
    dependencies: _containers.RepeatedScalarFieldContainer[str]
    hardware: Hardware
    signature: Signature
    model_size_bytes: int
    parameters: int
    memory_bytes: int
    loader: LoaderSpec
    fingerprint: Fingerprint
    def __init__(self, framework: _Optional[_Union[Framework, _Mapping]] = ..., dependencies: _Optional[_Iterable[str]] = ..., hardware: _Optional[_Union[Hardware, _Mapping]] = ..., signature: _Optional[_Union[Signature, _Mapping]] = ..., model_size_bytes: _Optional[int] = ..., parameters: _Optional[int] = ..., memory_bytes: _Optional[int] = ..., loader: _Optional[_Union[LoaderSpec, _Mapping]] = ..., fingerprint: _Optional[_Union[Fingerprint, _Mapping]] = ...) -> None: ...

class LoaderSpec(_message.Message):
    __slots__ = ("kind", "file", "entry_point", "example_input")
    KIND_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    ENTRY_POINT_FIELD_NUMBER: _ClassVar[int]
    EXAMPLE_INPUT_FIELD_NUMBER: _ClassVar[int]
    kind: LoaderKind
    file: str
    entry_point: str
    example_input: str
    def __init__(self, kind: _Optional[_Union[LoaderKind, str]] = ..., file: _Optional[str] = ..., entry_point: _Optional[str] = ..., example_input: _Optional[str] = ...) -> None: ...

class Fingerprint(_message.Message):
    __slots__ = ("value", "source", "inferred_from")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    INFERRED_FROM_FIELD_NUMBER: _ClassVar[int]
    value: str
    source: SpecSource
    inferred_from: str
    def __init__(self, value: _Optional[str] = ..., source: _Optional[_Union[SpecSource, str]] = ..., inferred_from: _Optional[str] = ...) -> None: ...

class Framework(_message.Message):
    __slots__ = ("name", "version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...

class Hardware(_message.Message):
    __slots__ = ("min_ram_bytes", "gpu_required", "gpu_count", "gpu_memory_bytes", "gpu_type")
    MIN_RAM_BYTES_FIELD_NUMBER: _ClassVar[int]
    GPU_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    GPU_COUNT_FIELD_NUMBER: _ClassVar[int]
    GPU_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    GPU_TYPE_FIELD_NUMBER: _ClassVar[int]
    min_ram_bytes: int
    gpu_required: bool
    gpu_count: int
    gpu_memory_bytes: int
    gpu_type: str
    def __init__(self, min_ram_bytes: _Optional[int] = ..., gpu_required: bool = ..., gpu_count: _Optional[int] = ..., gpu_memory_bytes: _Optional[int] = ..., gpu_type: _Optional[str] = ...) -> None: ...

class Shape(_message.Message):
    __slots__ = ("dims",)
    DIMS_FIELD_NUMBER: _ClassVar[int]
    dims: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, dims: _Optional[_Iterable[int]] = ...) -> None: ...

class TensorSpec(_message.Message):
    __slots__ = ("name", "dtype", "shape")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    name: str
    dtype: str
    shape: Shape
    def __init__(self, name: _Optional[str] = ..., dtype: _Optional[str] = ..., shape: _Optional[_Union[Shape, _Mapping]] = ...) -> None: ...

class Signature(_message.Message):
    __slots__ = ("inputs", "outputs", "source", "inferred_from")
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    INFERRED_FROM_FIELD_NUMBER: _ClassVar[int]
    inputs: _containers.RepeatedCompositeFieldContainer[TensorSpec]
    outputs: _containers.RepeatedCompositeFieldContainer[TensorSpec]
    source: SpecSource
    inferred_from: str
    def __init__(self, inputs: _Optional[_Iterable[_Union[TensorSpec, _Mapping]]] = ..., outputs: _Optional[_Iterable[_Union[TensorSpec, _Mapping]]] = ..., source: _Optional[_Union[SpecSource, str]] = ..., inferred_from: _Optional[str] = ...) -> None: ...

class MetricValues(_message.Message):
    __slots__ = ("values",)
    class ValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.ScalarMap[str, float]
    def __init__(self, values: _Optional[_Mapping[str, float]] = ...) -> None: ...

class Performance(_message.Message):
    __slots__ = ("metrics", "dataset_metrics", "latency", "resources")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class DatasetMetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: MetricValues
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[MetricValues, _Mapping]] = ...) -> None: ...
    METRICS_FIELD_NUMBER: _ClassVar[int]
    DATASET_METRICS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    metrics: _containers.ScalarMap[str, float]
    dataset_metrics: _containers.MessageMap[str, MetricValues]
    latency: Latency
    resources: ResourceUse
    def __init__(self, metrics: _Optional[_Mapping[str, float]] = ..., dataset_metrics: _Optional[_Mapping[str, MetricValues]] = ..., latency: _Optional[_Union[Latency, _Mapping]] = ..., resources: _Optional[_Union[ResourceUse, _Mapping]] = ...) -> None: ...

class Latency(_message.Message):
    __slots__ = ("p50_ms", "p95_ms", "p99_ms", "mean_ms", "batch_size")
    P50_MS_FIELD_NUMBER: _ClassVar[int]
    P95_MS_FIELD_NUMBER: _ClassVar[int]
    P99_MS_FIELD_NUMBER: _ClassVar[int]
    MEAN_MS_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    batch_size: int
    def __init__(self, p50_ms: _Optional[float] = ..., p95_ms: _Optional[float] = ..., p99_ms: _Optional[float] = ..., mean_ms: _Optional[float] = ..., batch_size: _Optional[int] = ...) -> None: ...

class ResourceUse(_message.Message):
    __slots__ = ("cpu_percent", "memory_bytes", "gpu_memory_bytes", "throughput_per_second")
    CPU_PERCENT_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    GPU_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    THROUGHPUT_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    cpu_percent: float
    memory_bytes: int
    gpu_memory_bytes: int
    throughput_per_second: float
    def __init__(self, cpu_percent: _Optional[float] = ..., memory_bytes: _Optional[int] = ..., gpu_memory_bytes: _Optional[int] = ..., throughput_per_second: _Optional[float] = ...) -> None: ...

class Deployment(_message.Message):
    __slots__ = ("config", "environment", "dependencies_lock", "rollouts")
    class ConfigEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Scalar
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Scalar, _Mapping]] = ...) -> None: ...
    class EnvironmentEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    DEPENDENCIES_LOCK_FIELD_NUMBER: _ClassVar[int]
    ROLLOUTS_FIELD_NUMBER: _ClassVar[int]
    config: _containers.MessageMap[str, Scalar]
    environment: _containers.ScalarMap[str, str]
    dependencies_lock: _containers.RepeatedScalarFieldContainer[str]
    rollouts: _containers.RepeatedCompositeFieldContainer[RolloutRecord]
    def __init__(self, config: _Optional[_Mapping[str, Scalar]] = ..., environment: _Optional[_Mapping[str, str]] = ..., dependencies_lock: _Optional[_Iterable[str]] = ..., rollouts: _Optional[_Iterable[_Union[RolloutRecord, _Mapping]]] = ...) -> None: ...

class RolloutRecord(_message.Message):
    __slots__ = ("at", "environment", "strategy", "traffic_percent", "status", "actor", "note")
    AT_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    TRAFFIC_PERCENT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    at: _timestamp_pb2.Timestamp
    environment: str
    strategy: str
    traffic_percent: float
    status: str
    actor: str
    note: str
    def __init__(self, at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., environment: _Optional[str] = ..., strategy: _Optional[str] = ..., traffic_percent: _Optional[float] = ..., status: _Optional[str] = ..., actor: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...
