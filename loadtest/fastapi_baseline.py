"""What a user might write instead: FastAPI, the .keras model, `model.predict` per request.

MNIST_MODEL_TAG=mnist_classifier:latest uvicorn loadtest.fastapi_baseline:app
"""

from __future__ import annotations

from pathlib import Path

import bentoml
import keras
import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel

import model_contract as contract
from service.settings import ServiceSettings

stored = bentoml.models.get(ServiceSettings().model_tag)
model = keras.models.load_model(Path(stored.path) / contract.KERAS_FILE, safe_mode=True)
app = FastAPI()


class PredictRequest(BaseModel):
    images: list[list[list[float]]]


@app.get("/readyz")
def ready() -> dict:
    return {"ready": True}


@app.post("/predict")
def predict(request: PredictRequest) -> list[dict]:
    probabilities = model.predict(np.asarray(request.images, dtype=np.float32), verbose=0)
    return [
        {"digit": int(row.argmax()), "confidence": float(row.max()), "probabilities": row.tolist()}
        for row in probabilities
    ]
