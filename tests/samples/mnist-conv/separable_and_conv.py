# Fail layer_limit: a functional model with a SeparableConv2D and a Conv2D, two convolutions where
# one is allowed. The pre-check only suspects it (no literal Sequential); the kernel stops the run
# at fit, and layer_limit fails with the counts. Run anyway (--full): 2 epochs on 4,096 images.

# %%
import tensorflow as tf

print(tf.__version__)

# %%
mnist = tf.keras.datasets.mnist

(x_train, y_train), (x_test, y_test) = mnist.load_data()

# %%
# 改变形状并把像素值缩放到 0–1 / Reshape and scale the pixel values to 0–1
# YOUR CODE STARTS HERE
# 只用前 4096 张训练图片，让这个样例跑得快 / only the first 4,096 training images keep this sample cheap
x_train = x_train[:4096].reshape(4096, 28, 28, 1) / 255.0
y_train = y_train[:4096]
x_test = x_test.reshape(10000, 28, 28, 1) / 255.0
# YOUR CODE ENDS HERE

# %%
class myCallback(tf.keras.callbacks.Callback):
    # YOUR CODE STARTS HERE
    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if logs.get('accuracy', 0) > 0.998:
            print("\n达到99.8%准确率，所以取消训练！")
            self.model.stop_training = True
    # YOUR CODE ENDS HERE


callbacks = myCallback()

# %%
# YOUR CODE STARTS HERE
inputs = tf.keras.Input(shape=(28, 28, 1))
x = tf.keras.layers.SeparableConv2D(16, (3, 3), activation='relu')(inputs)
x = tf.keras.layers.Conv2D(32, (3, 3), activation='relu')(x)
x = tf.keras.layers.MaxPooling2D(2, 2)(x)
x = tf.keras.layers.Flatten()(x)
x = tf.keras.layers.Dense(128, activation='relu')(x)
outputs = tf.keras.layers.Dense(10, activation='softmax')(x)
model = tf.keras.Model(inputs, outputs)
# YOUR CODE ENDS HERE

# %%
# YOUR CODE STARTS HERE
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
# YOUR CODE ENDS HERE

# %%
# YOUR CODE STARTS HERE
# 只训练 2 个 epoch，让这个样例跑得快 / only 2 epochs keep this sample cheap
history = model.fit(x_train, y_train, epochs=2, callbacks=[callbacks])
# YOUR CODE ENDS HERE
