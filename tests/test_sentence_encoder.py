"""Tests for sentence_encoder: pinned files, embeddings, reference agreement, Rasa featurizer."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

import bot.nlu.sentence_encoder as se

# The Git LFS SHA-256 of model.safetensors in sentence-transformers/all-MiniLM-L6-v2 (revision
# 1110a243…): written out here a second time so that editing the constant alone cannot pass.
OFFICIAL_WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

# Published sentence-transformers (PyTorch) output for this sentence, first six dimensions.
EXAMPLE = "This is an example sentence"
EXAMPLE_PREFIX = [0.06765693, 0.06349593, 0.04871314, 0.07930495, 0.03744806, 0.00265273]

TEXTS = [
    "Can I still take my sertraline while I am getting ketamine infusions?",
    "how much does one infusion cost",
    "I need to reschedule my appt for next week because my ride fell through",
    "hi",
    "",
    "Is spravato the same as the ketamine you give in the IV infusions at the clinic?",
]


@pytest.fixture(scope="module")
def encoder() -> se.Encoder:
    return se.Encoder.load()


def cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


# ---------------------------------------------------------------- pinned files


def test_every_model_file_matches_its_pinned_sha256() -> None:
    se.verify_model_files(se.model_dir())  # raises on the first mismatch
    assert se.PINNED_SHA256["model.safetensors"] == OFFICIAL_WEIGHTS_SHA256


def test_a_changed_file_is_refused(tmp_path: Path) -> None:
    source = se.model_dir()
    for name in se.PINNED_SHA256:
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(source / name)
    (tmp_path / "tokenizer.json").unlink()
    shutil.copy(source / "tokenizer.json", tmp_path / "tokenizer.json")
    with (tmp_path / "tokenizer.json").open("a") as handle:
        handle.write(" ")
    with pytest.raises(se.ModelFilesError, match="tokenizer.json"):
        se.Encoder(tmp_path)
    (tmp_path / "config.json").unlink()
    with pytest.raises(se.ModelFilesError, match="missing"):
        se.verify_model_files(tmp_path, ["config.json"])


# ---------------------------------------------------------------- embeddings


def test_shape_dtype_and_unit_length(encoder: se.Encoder) -> None:
    vectors = encoder.encode(TEXTS)
    assert vectors.shape == (len(TEXTS), 384)
    assert vectors.dtype == np.float32
    assert np.all(np.isfinite(vectors))
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, 384)


def test_rejects_a_bare_string_and_non_strings(encoder: se.Encoder) -> None:
    with pytest.raises(TypeError):
        encoder.encode("hello")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        encoder.encode(["hello", None])  # type: ignore[list-item]


def test_matches_published_sentence_transformers_values(encoder: se.Encoder) -> None:
    vector = encoder.encode([EXAMPLE])[0]
    np.testing.assert_allclose(vector[:6], EXAMPLE_PREFIX, atol=1e-5)


def test_load_returns_one_shared_instance() -> None:
    seen: list[se.Encoder] = []
    barrier = threading.Barrier(4)

    def grab() -> None:
        barrier.wait()
        seen.append(se.Encoder.load())

    threads = [threading.Thread(target=grab) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(e) for e in seen}) == 1


def test_batching_and_padding_do_not_change_results(encoder: se.Encoder) -> None:
    one_by_one = np.concatenate([encoder.encode([t]) for t in TEXTS])
    # batch_size 2 < len(TEXTS): length-sorted batches, results back in input order
    for batch_size in (2, 32):
        np.testing.assert_allclose(
            encoder.encode(TEXTS, batch_size=batch_size), one_by_one, atol=1e-5
        )


def test_truncates_at_128_tokens(encoder: se.Encoder) -> None:
    ids, mask = encoder.token_ids(["word " * 1000, "word"])
    assert ids.shape == (2, 128)
    assert mask[0].sum() == 128 and mask[1].sum() == 3  # [CLS] word [SEP]
    long, exact = encoder.encode(["word " * 1000, "word " * 126])  # 126 + [CLS] + [SEP]
    np.testing.assert_allclose(long, exact, atol=1e-6)


def test_related_messages_score_higher_than_unrelated(encoder: se.Encoder) -> None:
    cases = [
        (
            "I need to reschedule my appt",
            "Can I move my appointment to another day?",
            "How much does ketamine cost?",
        ),
        (
            "can i book an appt for next week",
            "I would like to schedule an appointment",
            "what are the side effects of ketamine",
        ),
        ("appt", "appointment", "ketamine infusion price"),
        (
            "what are the side effects",
            "Does ketamine have any adverse effects?",
            "Where is the clinic located?",
        ),
        ("how much does it cost", "What is the price of a treatment?", "Is ketamine addictive?"),
    ]
    for anchor, close, unrelated in cases:
        a, c, u = encoder.encode([anchor, close, unrelated])
        assert cos(a, c) > cos(a, u) + 0.15, (anchor, cos(a, c), cos(a, u))


def test_concurrent_calls_give_the_same_vectors(encoder: se.Encoder) -> None:
    expected = encoder.encode(TEXTS)
    results: list[np.ndarray] = []
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for i in range(10):
                text = TEXTS[(offset + i) % len(TEXTS)]
                results.append((TEXTS.index(text), encoder.encode([text])[0]))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(results) == 40
    for index, vector in results:
        np.testing.assert_allclose(vector, expected[index], atol=1e-5)


# ---------------------------------------------------------------- reference agreement


def numpy_reference(texts: list[str]) -> np.ndarray:
    """Plain NumPy BERT forward pass + masked mean + L2, written independently of the graph."""
    from safetensors.numpy import load_file
    from scipy.special import erf

    w = load_file(str(se.model_dir() / "model.safetensors"))
    ids, mask = se.Encoder.load().token_ids(texts)
    batch, seq = ids.shape

    def ln(x: np.ndarray, prefix: str) -> np.ndarray:
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + 1e-12) * w[prefix + ".weight"] + w[prefix + ".bias"]

    def dense(x: np.ndarray, prefix: str) -> np.ndarray:
        return x @ w[prefix + ".weight"].T + w[prefix + ".bias"]

    def split(x: np.ndarray) -> np.ndarray:
        return x.reshape(batch, seq, 12, 32).transpose(0, 2, 1, 3)

    x = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][:seq]
        + w["embeddings.token_type_embeddings.weight"][0]
    )
    x = ln(x, "embeddings.LayerNorm")
    bias = np.where(mask[:, None, None, :] == 1, 0.0, -1e9).astype(np.float32)
    for i in range(6):
        p = f"encoder.layer.{i}."
        q = split(dense(x, p + "attention.self.query"))
        k = split(dense(x, p + "attention.self.key"))
        v = split(dense(x, p + "attention.self.value"))
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(32.0) + bias
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, seq, 384)
        x = ln(x + dense(ctx, p + "attention.output.dense"), p + "attention.output.LayerNorm")
        h = dense(x, p + "intermediate.dense")
        h = 0.5 * h * (1.0 + erf(h / np.sqrt(2.0)))
        x = ln(x + dense(h, p + "output.dense"), p + "output.LayerNorm")
    m = mask[..., None].astype(np.float32)
    pooled = (x * m).sum(1) / np.maximum(m.sum(1), 1e-9)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


def test_agrees_with_a_numpy_reference_forward_pass(encoder: se.Encoder) -> None:
    texts = TEXTS + ["word " * 300]
    reference = numpy_reference(texts)  # one padded batch
    vectors = encoder.encode(texts)
    assert np.abs(vectors - reference).max() < 1e-5
    assert (vectors * reference).sum(1).min() > 1 - 1e-6


# ---------------------------------------------------------------- Rasa featurizer


def make_featurizer(tmp_path: Path, **config: object) -> se.SentenceEncoderFeaturizer:
    cls = se.SentenceEncoderFeaturizer
    return cls.create(
        {**cls.get_default_config(), **config},
        LocalModelStorage(tmp_path),
        Resource("sentence_encoder"),
        ExecutionContext(graph_schema=None, node_name="sentence_encoder"),  # type: ignore[arg-type]
    )


def test_featurizer_is_registered_as_a_message_featurizer() -> None:
    registered = DefaultV1Recipe._from_registry("SentenceEncoderFeaturizer")
    assert registered.clazz is se.SentenceEncoderFeaturizer
    assert DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER in registered.types
    assert registered.is_trainable is False


def test_process_adds_a_dense_sentence_feature(tmp_path: Path, encoder: se.Encoder) -> None:
    featurizer = make_featurizer(tmp_path)
    message = Message(data={TEXT: EXAMPLE})
    core_message = Message(data={INTENT: "greet"})  # no text: left alone
    featurizer.process([message, core_message])

    sequence, sentence = message.get_dense_features(TEXT)
    assert sequence is None
    assert sentence.features.shape == (1, 384)
    assert [f.origin for f in message.features] == ["sentence_encoder"]
    np.testing.assert_allclose(sentence.features[0], encoder.encode([EXAMPLE])[0], atol=1e-6)
    assert core_message.features == []


def test_optional_sequence_feature(tmp_path: Path) -> None:
    featurizer = make_featurizer(tmp_path, add_sequence_feature=True)
    message = Message(data={TEXT: "when are you open"})
    featurizer.process([message])
    sequence, sentence = message.get_dense_features(TEXT)
    assert sequence.features.shape == (1, 384)
    np.testing.assert_array_equal(sequence.features, sentence.features)


def test_process_training_data_batches_every_example(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    featurizer = make_featurizer(tmp_path, batch_size=4)
    examples = [Message(data={TEXT: f"question number {i}", INTENT: "faq"}) for i in range(10)]
    calls: list[int] = []
    real_run = featurizer._encoder._run

    def counting_run(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        return real_run(texts)

    monkeypatch.setattr(featurizer._encoder, "_run", counting_run)
    featurizer.process_training_data(TrainingData(training_examples=examples))
    assert calls == [4, 4, 2]  # ten examples, three onnxruntime calls
    for message in examples:
        _, sentence = message.get_dense_features(TEXT)
        assert sentence.features.shape == (1, 384)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True, "8"])
def test_bad_batch_size_is_refused(tmp_path: Path, batch_size: object) -> None:
    with pytest.raises(InvalidConfigException):
        make_featurizer(tmp_path, batch_size=batch_size)


def test_fingerprint_follows_the_weights() -> None:
    cls = se.SentenceEncoderFeaturizer
    assert cls.fingerprint_addon(cls.get_default_config()) == OFFICIAL_WEIGHTS_SHA256


NLU_DATA = """version: "3.1"
nlu:
- intent: book
  examples: |
    - I want to book an appointment
    - can i schedule a visit
    - I need to reschedule my appt
    - book me in for next week
    - set up a consultation
- intent: cost
  examples: |
    - how much does it cost
    - what is the price of an infusion
    - is it covered by insurance
    - how expensive is the treatment
    - what do you charge
- intent: side_effects
  examples: |
    - what are the side effects
    - will it make me feel weird
    - any adverse effects
    - does it cause nausea
    - how will I feel after
"""

NLU_CONFIG = """recipe: default.v1
language: en
assistant_id: sentence-encoder-test
pipeline:
  - name: WhitespaceTokenizer
  # The only features: DIET needs a sequence feature, and no other featurizer gives one.
  - name: bot.nlu.sentence_encoder.SentenceEncoderFeaturizer
    add_sequence_feature: true
  - name: DIETClassifier
    epochs: 20
    random_seed: 1
policies: []
"""


def test_rasa_trains_and_parses_with_the_featurizer(tmp_path: Path) -> None:
    """A real `rasa train nlu` + Agent.parse_message, DIET seeing only the embeddings."""
    import asyncio

    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu

    (tmp_path / "nlu.yml").write_text(NLU_DATA)
    (tmp_path / "config.yml").write_text(NLU_CONFIG)
    model = train_nlu(
        str(tmp_path / "config.yml"),
        str(tmp_path / "nlu.yml"),
        output=str(tmp_path / "models"),
        fixed_model_name="nlu",
    )
    agent = Agent.load(model)
    for text, intent in [
        ("could I move my appt to friday", "book"),
        ("what will this cost me", "cost"),
        ("does it have side effects", "side_effects"),
    ]:
        parsed = asyncio.run(agent.parse_message(text))
        assert parsed["intent"]["name"] == intent, parsed["intent"]


def test_the_training_cache_gives_the_same_embeddings(tmp_path: Path) -> None:
    """Cached training embeddings are the encoder's own; a damaged cache is ignored."""
    texts = ["do u take aetna", "what is ketamine", "do u take aetna"]
    encoder = se.Encoder.load()
    cache = se.EmbeddingCache.open(tmp_path)
    assert cache.vectors == {}
    cache.vectors.update(zip(texts[:2], encoder.encode(texts[:2]), strict=True))
    cache.save()
    reopened = se.EmbeddingCache.open(tmp_path)
    np.testing.assert_allclose(
        np.stack([reopened.vectors[t] for t in texts]), encoder.encode(texts), atol=1e-6
    )
    reopened.path.write_bytes(b"not an npz file")
    assert se.EmbeddingCache.open(tmp_path).vectors == {}
