"""The graph audit and the layer count (grader.inside.graph_audit) on real exported graphs: small Keras
models exported as the grader's kernel exports them (no training), and protocol buffers built by
hand for what TensorFlow would not write."""

from __future__ import annotations

import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")
pytestmark = pytest.mark.kernel  # TensorFlow in this process

from tensorflow.core.framework import function_pb2, node_def_pb2  # noqa: E402
from tensorflow.core.protobuf import saved_model_pb2  # noqa: E402

from grader.inside import graph_audit  # noqa: E402
from grader.inside.graph_audit import LayerCount, audit, count_serving  # noqa: E402

L = keras.layers


def exported(tmp_path, *layers, shape=(28, 28, 1)):
    model = keras.Sequential([keras.Input(shape), *layers])
    folder = tmp_path / "model"
    model.export(str(folder), format="tf_saved_model", verbose=False)
    return graph_audit.read_saved_model(folder)


def counted(tmp_path, *layers, shape=(28, 28, 1)) -> LayerCount:
    saved_model = exported(tmp_path, *layers, shape=shape)
    assert audit(saved_model) == ()
    return count_serving(saved_model)


# -- what the course's models export --------------------------------------------------------------

HONEST = {
    "dense": ((28, 28), lambda: [L.Flatten(), L.Dense(128, activation="relu"), L.Dropout(0.2), L.Dense(10, activation="softmax")], (0, 0)),
    "cnn": ((28, 28, 1), lambda: [L.Rescaling(1 / 255), L.Conv2D(8, 3, activation="relu"), L.MaxPooling2D(), L.BatchNormalization(), L.Flatten(),
                                  L.Dense(10)], (1, 1)),
    "lenet": ((28, 28, 1), lambda: [L.Conv2D(6, 5, padding="same", activation="tanh"), L.AveragePooling2D(2), L.Conv2D(16, 5, activation="tanh"),
                                    L.MaxPooling2D(), L.Flatten(), L.Dense(120), L.Dense(84), L.Dense(10)], (2, 2)),
    "separable": ((28, 28, 1), lambda: [L.SeparableConv2D(4, 3), L.Flatten(), L.Dense(10)], (1, 0)),
    "depthwise_transposed": ((28, 28, 1), lambda: [L.DepthwiseConv2D(3), L.Conv2DTranspose(2, 3), L.Flatten(), L.Dense(10)], (2, 0)),
    "conv1d": ((28, 28), lambda: [L.Conv1D(4, 3), L.MaxPooling1D(), L.Flatten(), L.Dense(10)], (1, 1)),
    "conv3d": ((28, 28, 1, 1), lambda: [L.Conv3D(2, (3, 3, 1)), L.AveragePooling3D((2, 2, 1)), L.Flatten(), L.Dense(10)], (1, 1)),
    "global_pooling": ((28, 28, 1), lambda: [L.Conv2D(4, 3), L.GlobalAveragePooling2D(), L.LayerNormalization(), L.Dense(10, activation="gelu"),
                                             L.Softmax()], (1, 1)),
    "global_max": ((28, 28, 1), lambda: [L.Conv2D(4, 3), L.GlobalMaxPooling2D(), L.Dense(10, activation="swish"), L.Activation("log_softmax")], (1, 1)),
    "resizing": ((28, 28, 1), lambda: [L.Resizing(32, 32), L.Conv2D(4, 5), L.Resizing(14, 14), L.Flatten(), L.Dense(10)], (1, 1)),
    "lstm": ((28, 28), lambda: [L.LSTM(8), L.Dense(10)], (0, 0)),
}


@pytest.mark.parametrize("name", HONEST)
def test_the_courses_layers_pass_the_audit_and_count_as_layers(tmp_path, name):
    shape, layers, expected = HONEST[name]
    count = counted(tmp_path, *layers(), shape=shape)
    assert (count.conv, count.pool, count.unclassified) == (*expected, ())


# -- what the count must not miss ------------------------------------------------------------------


class PatchConv(L.Layer):
    """A convolution as patches and a matmul."""

    def build(self, shape):
        self.kernel = self.add_weight(shape=(9, 8))

    def call(self, x):
        return tf.matmul(tf.image.extract_patches(x, [1, 3, 3, 1], [1, 1, 1, 1], [1, 1, 1, 1], "VALID"), self.kernel)


class CondConv(L.Layer):
    """A convolution in each branch of a tf.cond."""

    def build(self, shape):
        self.a, self.b = self.add_weight(shape=(3, 3, 1, 4)), self.add_weight(shape=(3, 3, 1, 4))

    def call(self, x):
        return tf.cond(tf.reduce_mean(x) > 2.0, lambda: tf.nn.conv2d(x, self.a, 1, "SAME"), lambda: tf.nn.conv2d(x, self.b, 1, "SAME"))


class CaseConv(L.Layer):
    def build(self, shape):
        self.kernel = self.add_weight(shape=(3, 3, 1, 1))

    def call(self, x):
        index = tf.cast(tf.reduce_mean(x) > 2.0, tf.int32)
        return tf.switch_case(index, [lambda: x, lambda: tf.nn.conv2d(x, self.kernel, 1, "SAME")])


class ArgmaxPool(L.Layer):
    def call(self, x):
        return tf.nn.max_pool_with_argmax(x, 2, 2, "VALID")[0]


class NestedConvs(L.Layer):
    """Three convolutions and two poolings in tf.functions nested in a custom layer."""

    def build(self, shape):
        self.kernel = self.add_weight(shape=(3, 3, 1, 1))

    def call(self, x):
        @tf.function
        def conv(y):
            return tf.nn.conv2d(y, self.kernel, 1, "SAME")

        @tf.function
        def block(y):
            return tf.nn.avg_pool2d(conv(conv(y)), 2, 2, "VALID")

        return tf.nn.max_pool2d(conv(block(x)), 2, 2, "VALID")


class LoopConv(L.Layer):
    def build(self, shape):
        self.kernel = self.add_weight(shape=(3, 3, 1, 1))

    def call(self, x):
        return tf.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, tf.nn.conv2d(y, self.kernel, 1, "SAME")), (0, x))[1]


class WindowMax(L.Layer):
    """2x2 max pooling written as a reshape and a reduction."""

    def call(self, x):
        return tf.reduce_max(tf.reshape(x, (-1, 14, 2, 14, 2, 1)), axis=[2, 4])


@pytest.mark.parametrize(
    ("layer", "expected"),
    [
        (PatchConv, (1, 0, ())),
        (CondConv, (2, 0, ())),
        (CaseConv, (1, 0, ())),
        (ArgmaxPool, (0, 1, ())),
        (NestedConvs, (3, 2, ())),
        (LoopConv, (1, 0, ("Conv2D:loop",))),
        (WindowMax, (0, 1, ())),
    ],
)
def test_convolutions_and_poolings_in_disguise_are_counted(tmp_path, layer, expected):
    count = counted(tmp_path, layer(), L.Flatten(), L.Dense(10))
    assert (count.conv, count.pool, count.unclassified) == expected


# -- what the audit refuses --------------------------------------------------------------------


class ReadsAFile(L.Layer):
    def call(self, x):
        return x + 0.0 * tf.cast(tf.strings.length(tf.io.read_file("/etc/hostname")), tf.float32)


class CallsPython(L.Layer):
    def call(self, x):
        y = tf.py_function(lambda a: a, [x], tf.float32)
        y.set_shape(x.shape)
        return y


class Prints(L.Layer):
    def call(self, x):
        tf.print(tf.reduce_sum(x))
        return x


class ListsFiles(L.Layer):
    def call(self, x):
        return x + 0.0 * tf.cast(tf.size(tf.io.matching_files("/tmp/*")), tf.float32)


@pytest.mark.parametrize(
    ("layer", "refused"),
    [(ReadsAFile, {"ReadFile", "StringLength"}), (CallsPython, {"EagerPyFunc"}), (Prints, {"PrintV2", "StringFormat"}), (ListsFiles, {"MatchingFiles"})],
)
def test_the_audit_names_what_the_graph_may_not_do(tmp_path, layer, refused):
    saved_model = exported(tmp_path, layer(), L.Flatten(), L.Dense(10))
    assert set(audit(saved_model)) == refused
    assert {u.split(":")[0] for u in count_serving(saved_model).unclassified} == refused


def test_checkpoint_ops_pass_only_in_the_exporters_own_functions(tmp_path):
    saved_model = exported(tmp_path, L.Flatten(), L.Dense(10), shape=(28, 28))
    library = saved_model.meta_graphs[0].graph_def.library.function
    saver = graph_audit.saver_functions(saved_model.meta_graphs[0], {f.signature.name: f for f in library})
    assert {n.op for f in library if f.signature.name in saver for n in f.node_def} >= {"SaveV2", "RestoreV2"}
    serving = next(f for f in library if f.signature.name not in saver and any(n.op == "MatMul" for n in f.node_def))
    serving.node_def.add().CopyFrom(node_def_pb2.NodeDef(name="restore", op="RestoreV2"))
    assert audit(saved_model) == ("RestoreV2",)


def test_a_saver_function_also_called_from_the_model_is_audited_strictly(tmp_path):
    saved_model = exported(tmp_path, L.Flatten(), L.Dense(10), shape=(28, 28))
    meta_graph = saved_model.meta_graphs[0]
    library = {f.signature.name: f for f in meta_graph.graph_def.library.function}
    restore = next(iter(name for name in graph_audit.saver_functions(meta_graph, library) if "restore" in name))
    meta_graph.object_graph_def.concrete_functions[restore].SetInParent()  # an object of the model names it
    assert "RestoreV2" in audit(saved_model)


def test_a_tensorflow_1_saved_model_is_refused():
    saved_model = saved_model_pb2.SavedModel()
    saved_model.meta_graphs.add()
    assert audit(saved_model) == (graph_audit.NOT_TF2,)


# -- graphs built by hand ---------------------------------------------------------------------------


def function(name: str, *nodes: tuple[str, str, dict[str, str]]) -> function_pb2.FunctionDef:
    """A FunctionDef `name` of nodes (node name, op, {attribute: called function})."""
    fdef = function_pb2.FunctionDef()
    fdef.signature.name = name
    for node_name, op, calls in nodes:
        node = fdef.node_def.add(name=node_name, op=op)
        for key, callee in calls.items():
            node.attr[key].func.name = callee
    return fdef


def library(*functions: function_pb2.FunctionDef) -> dict[str, function_pb2.FunctionDef]:
    return {f.signature.name: f for f in functions}


def entry(name: str) -> list[node_def_pb2.NodeDef]:
    node = node_def_pb2.NodeDef(name="call", op="StatefulPartitionedCall")
    node.attr["f"].func.name = name
    return [node]


def test_a_function_called_twice_counts_twice_and_deep_nesting_stays_fast():
    functions = [function("f0", ("conv", "Conv2D", {}))]
    for depth in range(1, 61):
        functions.append(function(f"f{depth}", ("a", "PartitionedCall", {"f": f"f{depth - 1}"}), ("b", "PartitionedCall", {"f": f"f{depth - 1}"})))
    assert graph_audit.count_layers(library(*functions), entry("f60")).conv == 2**60


def test_recursion_and_missing_functions_are_unclassifiable():
    looped = library(function("a", ("x", "PartitionedCall", {"f": "b"})), function("b", ("y", "PartitionedCall", {"f": "a"})))
    assert graph_audit.count_layers(looped, entry("a")).unclassified == ("PartitionedCall:recursion",)
    assert graph_audit.count_layers(library(function("a", ("x", "If", {"then_branch": "nowhere"}))), entry("a")).unclassified == ("If:missing",)


def test_an_unknown_op_is_unclassifiable_and_a_pool_in_a_while_body_too():
    functions = library(
        function("main", ("fft", "FFT2D", {}), ("loop", "While", {"cond": "cond", "body": "body"})),
        function("cond", ("c", "Less", {})),
        function("body", ("p", "MaxPool", {})),
    )
    assert graph_audit.count_layers(functions, entry("main")) == LayerCount(0, 1, ("FFT2D:unknown", "MaxPool:loop"))
