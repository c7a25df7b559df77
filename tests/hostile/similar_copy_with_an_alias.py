# ruff: noqa: E402
# Attack on grader similar, by someone who read its source: a copy of another student's answer that imports TensorFlow under another alias
# (`import tensorflow as T`): the alias an import binds kept its text, so every `tf.` line differed.
# %%
import tensorflow as tf

print(tf.__version__)

# %%
mnist = tf.keras.datasets.mnist

(x_train, y_train), (x_test, y_test) = mnist.load_data()

# %%
# 把像素值缩放到 0–1 / Scale the pixel values to 0–1
# YOUR CODE STARTS HERE
import tensorflow as T
x_train = x_train.reshape(-1, 28, 28).astype('float32') / 255.0
x_test = x_test.reshape(-1, 28, 28).astype('float32') / 255.0
print('train:', x_train.shape, 'test:', x_test.shape)
# YOUR CODE ENDS HERE

# %%
class myCallback(tf.keras.callbacks.Callback):
    # YOUR CODE STARTS HERE
    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        current = logs.get('accuracy')
        print(f'epoch {epoch + 1}: accuracy {current:.4f}')
        if current is not None and current > 0.99:
            print('Reached 99% accuracy so cancelling training!')
            self.model.stop_training = True
    # YOUR CODE ENDS HERE


callbacks = myCallback()

# %%
# YOUR CODE STARTS HERE
# a wide hidden layer, and dropout against overfitting
model = T.keras.models.Sequential([
    T.keras.layers.Flatten(input_shape=(28, 28)),
    T.keras.layers.Dense(512, activation='relu'),
    T.keras.layers.Dropout(0.1),
    T.keras.layers.Dense(128, activation='relu'),
    T.keras.layers.Dense(10, activation='softmax'),
])
model.summary()
# YOUR CODE ENDS HERE

# %%
# YOUR CODE STARTS HERE
model.compile(optimizer=T.keras.optimizers.Adam(learning_rate=0.002), loss='sparse_categorical_crossentropy', metrics=['accuracy'])
# YOUR CODE ENDS HERE

# %%
# YOUR CODE STARTS HERE
history = model.fit(x_train, y_train, epochs=10, batch_size=128, callbacks=[callbacks])
final = history.history['accuracy'][-1]
print('final training accuracy', round(final, 4))
# YOUR CODE ENDS HERE
