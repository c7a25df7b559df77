"""Answers to the mnist-callback skeleton's five `YOUR CODE` regions (normalise, the callback's
body, the model, compile, fit), as students write them.

`HONEST` are written independently: each its own style (a list or `add` calls, functional,
subclassed, a builder function, `tf.data`). `ORIGINAL` is copied twice: `RENAMED` renames its
variables, changes its literals and moves its comments; `REFORMATTED` reflows its lines, reorders
its comments and renames other variables. `TRAINED` and `REUSER` are honest-looking code of their
own, whose recorded training the tests make identical (a reused training output).
"""

from __future__ import annotations

HONEST: dict[str, tuple[str, str, str, str, str]] = {
    "hana": (
        "x_train = x_train / 255.0\nx_test = x_test / 255.0",
        "    def on_epoch_end(self, epoch, logs={}):\n"
        "        if logs.get('accuracy') > 0.99:\n"
        "            print(\"\\nReached 99% accuracy so cancelling training!\")\n"
        "            self.model.stop_training = True",
        "model = tf.keras.models.Sequential([\n"
        "    tf.keras.layers.Flatten(input_shape=(28, 28)),\n"
        "    tf.keras.layers.Dense(512, activation=tf.nn.relu),\n"
        "    tf.keras.layers.Dense(10, activation=tf.nn.softmax)\n"
        "])",
        "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])",
        "history = model.fit(x_train, y_train, epochs=10, callbacks=[callbacks])",
    ),
    "ivan": (
        "x_train, x_test = x_train / 255, x_test / 255",
        "    def on_epoch_end(self, epoch, logs=None):\n"
        "        logs = logs or {}\n"
        "        acc = logs[\"accuracy\"]\n"
        "        if acc > 0.99:\n"
        "            self.model.stop_training = True\n"
        "            print(\"Reached 99% accuracy so cancelling training!\")",
        "model = tf.keras.Sequential()\n"
        "model.add(tf.keras.Input(shape=(28, 28)))\n"
        "model.add(tf.keras.layers.Flatten())\n"
        "model.add(tf.keras.layers.Dense(256, activation='relu'))\n"
        "model.add(tf.keras.layers.Dense(128, activation='relu'))\n"
        "model.add(tf.keras.layers.Dense(10, activation='softmax'))",
        "model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=0.001),\n"
        "              loss=tf.keras.losses.SparseCategoricalCrossentropy(),\n"
        "              metrics=['accuracy'])",
        "history = model.fit(x_train, y_train, batch_size=64, epochs=10, callbacks=[callbacks], verbose=2)",
    ),
    "jun": (
        "x_train = x_train.astype('float32') / 255.\nx_test = x_test.astype('float32') / 255.",
        "    def __init__(self, target=0.99):\n"
        "        super().__init__()\n"
        "        self.target = target\n"
        "\n"
        "    def on_epoch_end(self, epoch, logs=None):\n"
        "        if logs is not None and logs.get(\"accuracy\", 0.0) > self.target:\n"
        "            print(\"达到99%准确率，所以取消训练！\")\n"
        "            self.model.stop_training = True",
        "inputs = tf.keras.Input(shape=(28, 28))\n"
        "hidden = tf.keras.layers.Flatten()(inputs)\n"
        "hidden = tf.keras.layers.Dense(512, activation='relu')(hidden)\n"
        "hidden = tf.keras.layers.Dropout(0.2)(hidden)\n"
        "outputs = tf.keras.layers.Dense(10)(hidden)\n"
        "model = tf.keras.Model(inputs=inputs, outputs=outputs)",
        "model.compile(optimizer='adam',\n"
        "              loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),\n"
        "              metrics=['accuracy'])",
        "history = model.fit(x_train, y_train, epochs=8, validation_split=0.1, callbacks=[callbacks])",
    ),
    "kim": (
        "import numpy as np\n"
        "x_train = np.divide(x_train, 255.0, dtype=np.float32)\n"
        "x_test = np.divide(x_test, 255.0, dtype=np.float32)",
        "    def on_epoch_end(self, epoch, logs=None):\n"
        "        reached = (logs or {}).get(\"accuracy\", 0) > 0.99\n"
        "        self.model.stop_training = reached\n"
        "        if reached:\n"
        "            print(f\"Reached 99% accuracy so cancelling training!\")",
        "class DigitNet(tf.keras.Model):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.flatten = tf.keras.layers.Flatten()\n"
        "        self.hidden = tf.keras.layers.Dense(384, activation='relu')\n"
        "        self.out = tf.keras.layers.Dense(10, activation='softmax')\n"
        "\n"
        "    def call(self, x):\n"
        "        return self.out(self.hidden(self.flatten(x)))\n"
        "\n"
        "\n"
        "model = DigitNet()",
        "model.compile('rmsprop', 'sparse_categorical_crossentropy', ['accuracy'])",
        "history = model.fit(x=x_train, y=y_train, epochs=10, shuffle=True, callbacks=[callbacks])",
    ),
    "lea": (
        "scale = lambda images: (images / 255.0).astype('float32')\nx_train = scale(x_train)\nx_test = scale(x_test)",
        "    THRESHOLD = 0.99\n"
        "    MESSAGE = \"Reached 99% accuracy so cancelling training!\"\n"
        "\n"
        "    def on_epoch_end(self, epoch, logs=None):\n"
        "        accuracy = logs.get(\"accuracy\") if logs else None\n"
        "        if accuracy is None:\n"
        "            return\n"
        "        if accuracy > self.THRESHOLD:\n"
        "            print(self.MESSAGE)\n"
        "            self.model.stop_training = True",
        "def build(units=(512,), classes=10):\n"
        "    layers = [tf.keras.layers.Reshape((784,), input_shape=(28, 28))]\n"
        "    for n in units:\n"
        "        layers.append(tf.keras.layers.Dense(n, activation='relu'))\n"
        "    layers.append(tf.keras.layers.Dense(classes, activation='softmax'))\n"
        "    return tf.keras.Sequential(layers)\n"
        "\n"
        "\n"
        "model = build()",
        "optimizer = tf.keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)\n"
        "model.compile(optimizer=optimizer, loss='sparse_categorical_crossentropy', metrics=['accuracy'])",
        "EPOCHS = 10\n"
        "history = model.fit(x_train, y_train, epochs=EPOCHS, callbacks=[callbacks])\n"
        "print(history.history['accuracy'][-1])",
    ),
    "mo": (
        "x_train = tf.cast(x_train, tf.float32) / 255.0\nx_test = tf.cast(x_test, tf.float32) / 255.0",
        "    def on_epoch_end(self, epoch, logs=None):\n"
        "        for key in (\"accuracy\", \"acc\"):\n"
        "            if key in (logs or {}) and logs[key] > 0.99:\n"
        "                print(\"Reached 99% accuracy so cancelling training!\")\n"
        "                self.model.stop_training = True\n"
        "                break",
        "from tensorflow.keras import layers\n"
        "model = tf.keras.Sequential([layers.Flatten(), layers.Dense(1024, activation='relu'),\n"
        "                             layers.BatchNormalization(), layers.Dense(10, activation='softmax')])",
        "model.compile(loss='sparse_categorical_crossentropy', optimizer='nadam', metrics=['accuracy'])",
        "dataset = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(10000).batch(128)\n"
        "history = model.fit(dataset, epochs=10, callbacks=[callbacks])",
    ),
}

ORIGINAL = (
    "x_train = x_train.reshape(-1, 28, 28).astype('float32') / 255.0\n"
    "x_test = x_test.reshape(-1, 28, 28).astype('float32') / 255.0\n"
    "print('train:', x_train.shape, 'test:', x_test.shape)",
    "    def on_epoch_end(self, epoch, logs=None):\n"
    "        logs = logs or {}\n"
    "        current = logs.get('accuracy')\n"
    "        print(f'epoch {epoch + 1}: accuracy {current:.4f}')\n"
    "        if current is not None and current > 0.99:\n"
    "            print('Reached 99% accuracy so cancelling training!')\n"
    "            self.model.stop_training = True",
    "# a wide hidden layer, and dropout against overfitting\n"
    "model = tf.keras.models.Sequential([\n"
    "    tf.keras.layers.Flatten(input_shape=(28, 28)),\n"
    "    tf.keras.layers.Dense(512, activation='relu'),\n"
    "    tf.keras.layers.Dropout(0.1),\n"
    "    tf.keras.layers.Dense(128, activation='relu'),\n"
    "    tf.keras.layers.Dense(10, activation='softmax'),\n"
    "])\n"
    "model.summary()",
    "model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=0.002), loss='sparse_categorical_crossentropy', metrics=['accuracy'])",
    "history = model.fit(x_train, y_train, epochs=10, batch_size=128, callbacks=[callbacks])\n"
    "final = history.history['accuracy'][-1]\n"
    "print('final training accuracy', round(final, 4))",
)

RENAMED = (
    "# scale the pixels\n"
    "x_train = x_train.reshape(-1, 28, 28).astype('float32') / 255\n"
    "x_test = x_test.reshape(-1, 28, 28).astype('float32') / 255\n"
    "print('training set', x_train.shape, 'test set', x_test.shape)",
    "    def on_epoch_end(self, ep, info=None):\n"
    "        info = info or {}\n"
    "        acc_now = info.get('accuracy')  # this epoch's accuracy\n"
    "        print(f'epoch {ep + 1}: acc {acc_now:.3f}')\n"
    "        if acc_now is not None and acc_now > 0.990:\n"
    "            print('Reached 99% accuracy so cancelling training!')\n"
    "            self.model.stop_training = True",
    "net = tf.keras.models.Sequential([\n"
    "    tf.keras.layers.Flatten(input_shape=(28, 28)),\n"
    "    tf.keras.layers.Dense(256, activation='relu'),  # hidden layer\n"
    "    tf.keras.layers.Dropout(0.25),  # against overfitting\n"
    "    tf.keras.layers.Dense(64, activation='relu'),\n"
    "    tf.keras.layers.Dense(10, activation='softmax'),\n"
    "])\n"
    "net.summary()\n"
    "model = net",
    "model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=0.001), loss='sparse_categorical_crossentropy', metrics=['accuracy'])",
    "hist = model.fit(x_train, y_train, epochs=9, batch_size=64, callbacks=[callbacks])\n"
    "last = hist.history['accuracy'][-1]\n"
    "print('last accuracy:', round(last, 3))\n"
    "history = hist",
)

REFORMATTED = (
    "x_train = x_train.reshape(-1, 28, 28).astype(\"float32\") / 255.0\n"
    "x_test = x_test.reshape(-1, 28, 28).astype(\"float32\") / 255.0\n"
    "print(\"train:\", x_train.shape,\n"
    "      \"test:\", x_test.shape)  # shapes",
    "    # stop at 99%\n"
    "    def on_epoch_end(self, n, history=None):\n"
    "        history = history or {}\n"
    "        value = history.get(\"accuracy\")\n"
    "        print(f\"epoch {n + 1}: accuracy {value:.4f}\")\n"
    "        if value is not None and value > 0.99:\n"
    "            print(\"Reached 99% accuracy so cancelling training!\"); self.model.stop_training = True",
    "model = tf.keras.models.Sequential([tf.keras.layers.Flatten(input_shape=(28, 28)),\n"
    "                                    tf.keras.layers.Dense(512, activation=\"relu\"), tf.keras.layers.Dropout(0.1),\n"
    "                                    tf.keras.layers.Dense(128, activation=\"relu\"),\n"
    "                                    tf.keras.layers.Dense(10, activation=\"softmax\"),])\n"
    "model.summary()  # a wide hidden layer, and dropout against overfitting",
    "model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=2e-3),\n"
    "              loss=\"sparse_categorical_crossentropy\", metrics=[\"accuracy\"])",
    "history = model.fit(x_train, y_train, epochs=10, batch_size=128, callbacks=[callbacks])\n"
    "result = history.history[\"accuracy\"][-1]; print(\"final training accuracy\", round(result, 4))",
)

TRAINED = (
    "x_train = (x_train / 255.0)[..., None]\nx_test = (x_test / 255.0)[..., None]",
    "    def on_epoch_end(self, epoch, logs=None):\n"
    "        if float((logs or {}).get('accuracy', 0)) <= 0.99:\n"
    "            return\n"
    "        self.model.stop_training = True\n"
    "        print('Reached 99% accuracy so cancelling training!')",
    "model = tf.keras.Sequential([\n"
    "    tf.keras.layers.Conv2D(16, 3, activation='relu', input_shape=(28, 28, 1)),\n"
    "    tf.keras.layers.MaxPooling2D(),\n"
    "    tf.keras.layers.Flatten(),\n"
    "    tf.keras.layers.Dense(64, activation='relu'),\n"
    "    tf.keras.layers.Dense(10, activation='softmax'),\n"
    "])",
    "model.compile(optimizer=tf.keras.optimizers.RMSprop(), loss=tf.keras.losses.sparse_categorical_crossentropy,\n"
    "              metrics=[tf.keras.metrics.SparseCategoricalAccuracy(name='accuracy')])",
    "history = model.fit(x_train, y_train, epochs=6, batch_size=256, callbacks=[callbacks], verbose=1)",
)

REUSER = (
    "def normalise(images):\n    return images.astype('float32') / 255.0\n\n\nx_train = normalise(x_train)\nx_test = normalise(x_test)",
    "    def on_epoch_end(self, epoch, logs=None):\n"
    "        value = None if logs is None else logs.get('accuracy')\n"
    "        done = value is not None and value > 0.99\n"
    "        if done:\n"
    "            print('达到99%准确率，所以取消训练！')\n"
    "        self.model.stop_training = done",
    "layer_sizes = [300, 100]\n"
    "model = tf.keras.Sequential([tf.keras.Input((28, 28)), tf.keras.layers.Flatten()])\n"
    "for size in layer_sizes:\n"
    "    model.add(tf.keras.layers.Dense(size, activation='elu', kernel_initializer='he_normal'))\n"
    "model.add(tf.keras.layers.Dense(10, activation='softmax'))",
    "model.compile(loss='sparse_categorical_crossentropy', optimizer=tf.keras.optimizers.Adamax(0.005), metrics=['accuracy'])",
    "history = model.fit(x_train, y_train, epochs=10, callbacks=[callbacks], validation_data=(x_test, y_test))",
)
