"""Lesson 01's widget: MyGaussianNoise's output against its input, in training or inference."""

from helpers.widgets import make_gaussian_noise_widget

import re

import pytest


def measured_std(lesson_widget):
    text = lesson_widget.readouts["noise_std"].value
    return float(re.search(r"measured noise std: ([0-9.]+)", text).group(1))


@pytest.fixture(scope="module")
def noise_widget():
    return make_gaussian_noise_widget(stddev=0.3, training=True, seed=42)


def test_handles_and_first_render(noise_widget):
    assert set(noise_widget.controls) == {"stddev", "training"}
    assert set(noise_widget.readouts) == {"plot", "noise_std"}
    assert bytes(noise_widget.readouts["plot"].value).startswith(b"\x89PNG")
    assert measured_std(noise_widget) == pytest.approx(0.3, rel=0.05)


def test_moving_the_slider_changes_the_measured_std_and_the_plot(noise_widget):
    noise_widget.controls["training"].value = True
    before = bytes(noise_widget.readouts["plot"].value)
    noise_widget.controls["stddev"].value = 0.8
    assert measured_std(noise_widget) == pytest.approx(0.8, rel=0.05)
    assert bytes(noise_widget.readouts["plot"].value) != before
    noise_widget.controls["stddev"].value = 0.0
    assert measured_std(noise_widget) == 0.0


def test_inference_returns_the_inputs_exactly(noise_widget):
    noise_widget.controls["stddev"].value = 0.6
    noise_widget.controls["training"].value = False
    text = noise_widget.readouts["noise_std"].value
    assert measured_std(noise_widget) == 0.0
    assert "output equals input exactly: True" in text
    noise_widget.controls["training"].value = True
    assert measured_std(noise_widget) == pytest.approx(0.6, rel=0.05)


def test_the_slider_cannot_reach_an_impossible_stddev(noise_widget):
    slider = noise_widget.controls["stddev"]
    slider.value = -1.0
    assert slider.value == 0.0  # clamped by the slider itself
    slider.value = 100.0
    make_gaussian_noise_widget(stddev=slider.value)  # its largest value is one the builder takes
    assert "#cf222e" not in noise_widget.readouts["noise_std"].value
    slider.value = 0.3


def test_an_impossible_value_set_by_a_program_shows_a_message_not_a_traceback():
    lesson_widget = make_gaussian_noise_widget()
    slider = lesson_widget.controls["stddev"]
    slider.min = -1.0
    slider.value = -0.5
    text = lesson_widget.readouts["noise_std"].value
    assert "stddev must be a finite number &gt;= 0" in text and "#cf222e" in text
    slider.value = 0.5  # and it recovers
    assert measured_std(lesson_widget) == pytest.approx(0.5, rel=0.05)


@pytest.mark.parametrize(
    ("arguments", "name"),
    [
        ({"stddev": -0.1}, "stddev"),
        ({"stddev": 1.5}, "stddev"),
        ({"training": "yes"}, "training"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_builder_refuses_bad_arguments(arguments, name):
    with pytest.raises(ValueError, match=name):
        make_gaussian_noise_widget(**arguments)


def test_the_toggle_labels_are_not_cut_off(noise_widget):
    """ipywidgets' default button width cuts "training=False (predict)" after a few letters."""
    toggle = noise_widget.controls["training"]
    assert toggle.style.button_width == "auto"
    # and on a row of its own: beside the slider the second label ran past the notebook's width
    assert toggle in noise_widget.widget.children
    assert [label for label, _ in toggle.options] == [
        "training=True (fit)",
        "training=False (predict)",
    ]
