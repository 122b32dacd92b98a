"""A stand-in for an ipywidgets 7 widget, for the display paths Colab (ipywidgets 7) takes.

This environment has ipywidgets 8; the compatibility run, ``nox -s "compat(stack='colab')"``,
runs the real ipywidgets 7.
"""


class Ipywidgets7Box:
    """What an ipywidgets 7.7 ``Box`` does on display: no ``_repr_mimebundle_``, and
    ``_handle_displayed(**kwargs)`` calls each display callback with those keyword arguments;
    the ``Box``'s own callback, ``_fire_children_displayed(self)``, takes none.

    ``text`` is its repr; ``children_displayed`` counts the callback's calls."""

    _view_name = "VBoxView"
    model_id = "abc123"

    def __init__(self, text="VBox(children=())"):
        self._display_callbacks = [type(self)._fire_children_displayed]
        self.children_displayed = 0
        self.text = text

    def __repr__(self):
        return self.text

    def _handle_displayed(self, **kwargs):
        for callback in self._display_callbacks:
            callback(self, **kwargs)

    def _fire_children_displayed(self):
        self.children_displayed += 1

    def add_class(self, name):
        pass
