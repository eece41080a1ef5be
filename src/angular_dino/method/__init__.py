"""AngularDINO itself: model, views, losses, prototypes, schedules, the trainer and the detector object."""
