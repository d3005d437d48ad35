# tests/store.mk — unit, model, stress and crash tests of the store library.
