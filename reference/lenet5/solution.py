# %%
import tensorflow as tf

print(tf.__version__)

# %%
mnist = tf.keras.datasets.mnist

(x_train, y_train), (x_test, y_test) = mnist.load_data()

# %%
# 改变形状并把像素值缩放到 0–1 / Reshape and scale the pixel values to 0–1
# YOUR CODE STARTS HERE
x_train = x_train.reshape(60000, 28, 28, 1) / 255.0
x_test = x_test.reshape(10000, 28, 28, 1) / 255.0
# YOUR CODE ENDS HERE

# %%
class LeNet5(tf.keras.Model):
    def __init__(self, num_classes=10):
        super().__init__()
        # YOUR CODE STARTS HERE
        self.conv1 = tf.keras.layers.Conv2D(6, (5, 5), padding='same', activation='relu')
        self.pool1 = tf.keras.layers.MaxPooling2D((2, 2))
        self.conv2 = tf.keras.layers.Conv2D(16, (5, 5), activation='relu')
        self.pool2 = tf.keras.layers.MaxPooling2D((2, 2))
        self.flatten = tf.keras.layers.Flatten()
        self.fc1 = tf.keras.layers.Dense(120, activation='relu')
        self.fc2 = tf.keras.layers.Dense(84, activation='relu')
        self.fc3 = tf.keras.layers.Dense(num_classes, activation='softmax')
        # YOUR CODE ENDS HERE

    def call(self, inputs):
        # YOUR CODE STARTS HERE
        x = self.pool1(self.conv1(inputs))
        x = self.pool2(self.conv2(x))
        x = self.flatten(x)
        x = self.fc2(self.fc1(x))
        return self.fc3(x)
        # YOUR CODE ENDS HERE


model = LeNet5()

# %%
# YOUR CODE STARTS HERE
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
# YOUR CODE ENDS HERE

# %%
# YOUR CODE STARTS HERE
history = model.fit(x_train, y_train, epochs=5)
# YOUR CODE ENDS HERE
