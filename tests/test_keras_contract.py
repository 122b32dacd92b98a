"""Every layer and model class in ``helpers`` passes Keras' own layer test harness.

``keras.src.testing.TestCase.run_layer_test`` is what Keras runs on its own layers: it builds the
layer from a shape (``build`` must create every weight), calls it on symbolic and on eager
inputs (both must give the expected output shape), round-trips its config, runs one training
step (it must run; nothing checks that the weights move), and checks that under
``mixed_float16`` the eager output has the dtype that ``compute_output_spec`` announces.

The classes are found, not listed: every ``keras.layers.Layer`` subclass defined in a
``helpers`` module is a test case, and a class missing from ``HARNESS_ARGUMENTS`` fails with a
message saying what to add, so a new class cannot skip the contract. The harness lives in a
private module; only these tests import it, and they fail with a clear message if a Keras
release moves it.
"""

import helpers

import importlib
import inspect
import pkgutil

import keras
import pytest

# The harness's one training step feeds a generator and trains weightless layers too; Keras
# warns about both every time. Neither says anything about the class under test.
pytestmark = [
    pytest.mark.filterwarnings("ignore:`shuffle=True` was passed:UserWarning"),
    pytest.mark.filterwarnings("ignore:The model does not have any trainable weights:UserWarning"),
]

try:
    from keras.src.testing import TestCase as KerasTestCase
except ImportError as error:  # a Keras release moved its private harness
    KerasTestCase = None
    HARNESS_IMPORT_ERROR = (
        f"Keras {keras.__version__} has no keras.src.testing.TestCase ({error}): the private "
        "layer harness moved. Find run_layer_test in the new release and update this import."
    )

# Per class: the constructor arguments a lesson uses, and what the harness should expect. The
# weight counts are stated, not left to the harness (which would count them after a first call):
# the table then says what each class must hold, and a wrong count fails even when build() and
# call() agree with each other.
HARNESS_ARGUMENTS = {
    "MyExponential": dict(
        init_kwargs={},
        input_shape=(2, 3),
        expected_output_shape=(2, 3),
        expected_num_trainable_weights=0,
    ),
    "MyDense": dict(
        init_kwargs={"units": 3, "activation": "relu"},
        input_shape=(2, 4),
        expected_output_shape=(2, 3),
        expected_num_trainable_weights=2,
    ),
    # Two inputs as a tuple: a list works for every check but the training step, whose
    # tf.data generator cannot describe a Python list of tensors (a harness limitation).
    "MyMultiLayer": dict(
        init_kwargs={},
        input_shape=((2, 3), (2, 3)),
        expected_output_shape=((2, 3), (2, 3)),
        expected_num_trainable_weights=0,
    ),
    "MyGaussianNoise": dict(
        init_kwargs={"stddev": 0.5, "seed": 42},
        input_shape=(2, 3),
        expected_output_shape=(2, 3),
        expected_num_trainable_weights=0,
        expected_num_seed_generators=1,
        supports_masking=True,
    ),
    "MyLayerNormalization": dict(
        init_kwargs={"eps": 0.001},
        input_shape=(2, 3),
        expected_output_shape=(2, 3),
        expected_num_trainable_weights=2,
    ),
    "MyDropout": dict(
        init_kwargs={"rate": 0.3, "seed": 42},
        input_shape=(2, 3),
        expected_output_shape=(2, 3),
        expected_num_trainable_weights=0,
        expected_num_seed_generators=1,
        supports_masking=True,
    ),
    # Lesson 06's deliberately broken custom gradient: the harness checks the contract, not the
    # gradient (that is what gradient_check is for), so the broken variant passes it too.
    "MySoftplusDense": dict(
        init_kwargs={"units": 3, "broken_gradient": True},
        input_shape=(2, 4),
        expected_output_shape=(2, 3),
        expected_num_trainable_weights=2,
    ),
    "ActivityPenalty": dict(
        init_kwargs={"rate": 0.01},
        input_shape=(2, 3),
        expected_output_shape=(2, 3),
        expected_num_trainable_weights=0,
        expected_num_losses=1,
    ),
    "ResidualBlock": dict(
        init_kwargs={"n_layers": 2, "n_neurons": 30},
        input_shape=(2, 30),
        expected_output_shape=(2, 30),
        expected_num_trainable_weights=4,
    ),
    "ResidualRegressor": dict(
        init_kwargs={"output_dim": 1},
        input_shape=(2, 10),
        expected_output_shape=(2, 1),
        expected_num_trainable_weights=12,
    ),
    "ReconstructingRegressor": dict(
        init_kwargs={"output_dim": 1, "reconstruction_weight": 0.05},
        input_shape=(2, 10),
        expected_output_shape=(2, 1),
        expected_num_trainable_weights=14,
        expected_num_losses=1,
    ),
}


def helpers_layer_classes():
    """``{name: class}`` of every ``keras.layers.Layer`` subclass a ``helpers`` module defines."""
    classes = {}
    for module_info in pkgutil.walk_packages(helpers.__path__, prefix="helpers."):
        module = importlib.import_module(module_info.name)
        for name, obj in inspect.getmembers(module, inspect.isclass):
            if obj.__module__ == module.__name__ and issubclass(obj, keras.layers.Layer):
                classes[name] = obj
    return classes


LAYER_CLASSES = helpers_layer_classes()


def _harness():
    if KerasTestCase is None:
        pytest.fail(HARNESS_IMPORT_ERROR)
    return KerasTestCase()


def test_the_private_harness_is_importable():
    _harness()


def test_discovery_finds_the_lessons_classes():
    assert {"MyDense", "ResidualBlock", "ResidualRegressor"} <= set(LAYER_CLASSES)


def test_the_table_names_no_class_that_is_gone():
    stale = set(HARNESS_ARGUMENTS) - set(LAYER_CLASSES)
    assert not stale, f"HARNESS_ARGUMENTS names classes no helpers module defines: {stale}"


@pytest.mark.parametrize("name", sorted(LAYER_CLASSES))
def test_class_passes_keras_layer_harness(name):
    layer_class = LAYER_CLASSES[name]
    if name not in HARNESS_ARGUMENTS:
        pytest.fail(
            f"{layer_class.__module__}.{name} is a Keras layer with no entry in "
            "tests/test_keras_contract.py HARNESS_ARGUMENTS: add its constructor arguments, "
            "an input shape and the expected output shape and weight count."
        )
    arguments = dict(HARNESS_ARGUMENTS[name])
    init_kwargs = arguments.pop("init_kwargs")
    _harness().run_layer_test(layer_class, init_kwargs, **arguments)
