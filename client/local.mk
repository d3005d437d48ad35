# client/local.mk — libfickle (native-protocol client library) and fickle-cli.
