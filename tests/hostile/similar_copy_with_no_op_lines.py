# Attack on grader similar, by someone who read its source: a copy of another student's answer with a statement that does nothing (`None`)
# after every statement: each broke every shared run of tokens as a `;` did.
# %%
import tensorflow as tf

print(tf.__version__)

# %%
mnist = tf.keras.datasets.mnist

(x_train, y_train), (x_test, y_test) = mnist.load_data()

# %%
# 把像素值缩放到 0–1 / Scale the pixel values to 0–1
# YOUR CODE STARTS HERE
x_train = x_train.reshape(-1, 28, 28).astype('float32') / 255.0
None
x_test = x_test.reshape(-1, 28, 28).astype('float32') / 255.0
None
print('train:', x_train.shape, 'test:', x_test.shape)
None
# YOUR CODE ENDS HERE

# %%
class myCallback(tf.keras.callbacks.Callback):
    # YOUR CODE STARTS HERE
    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        None
        current = logs.get('accuracy')
        None
        print(f'epoch {epoch + 1}: accuracy {current:.4f}')
        None
        if current is not None and current > 0.99:
            print('Reached 99% accuracy so cancelling training!')
            None
            self.model.stop_training = True
            None
    # YOUR CODE ENDS HERE


callbacks = myCallback()

# %%
# YOUR CODE STARTS HERE
# a wide hidden layer, and dropout against overfitting
model = tf.keras.models.Sequential([
    tf.keras.layers.Flatten(input_shape=(28, 28)),
    tf.keras.layers.Dense(512, activation='relu'),
    tf.keras.layers.Dropout(0.1),
    tf.keras.layers.Dense(128, activation='relu'),
    tf.keras.layers.Dense(10, activation='softmax'),
])
None
model.summary()
None
# YOUR CODE ENDS HERE

# %%
# YOUR CODE STARTS HERE
model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=0.002), loss='sparse_categorical_crossentropy', metrics=['accuracy'])
None
# YOUR CODE ENDS HERE

# %%
# YOUR CODE STARTS HERE
history = model.fit(x_train, y_train, epochs=10, batch_size=128, callbacks=[callbacks])
None
final = history.history['accuracy'][-1]
None
print('final training accuracy', round(final, 4))
None
# YOUR CODE ENDS HERE
