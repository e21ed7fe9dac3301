"""`manage.py schedule_jssp FILE --time-limit S [--workers N]`: a job-shop instance through
the plant scheduler, checked independently; the last line is `makespan N`."""

from django.core.management.base import BaseCommand, CommandError

from planning.scheduling import check_schedule, jssp_problem, read_jssp, schedule


class Command(BaseCommand):
    help = ("Schedule an OR-Library job-shop instance with the plant's scheduling engine, "
            "check the schedule and print its makespan (last line: 'makespan N').")

    def add_arguments(self, parser):
        parser.add_argument("file", help="instance in OR-Library format: 'jobs machines', "
                                         "then one line of 'machine duration' pairs per job")
        parser.add_argument("--time-limit", type=float, default=10.0,
                            help="seconds the solver may use (default 10)")
        parser.add_argument("--workers", type=int, default=2,
                            help="CP-SAT worker threads (default 2)")

    def handle(self, *args, **options):
        path, time_limit, workers = options["file"], options["time_limit"], options["workers"]
        if time_limit <= 0:
            raise CommandError("--time-limit must be a positive number of seconds")
        if workers < 1:
            raise CommandError("--workers must be at least 1")
        try:
            instance = read_jssp(path)
        except OSError as error:
            raise CommandError(f"cannot read {path}: {error.strerror or error}") from error
        except (ValueError, UnicodeDecodeError) as error:
            raise CommandError(f"not a job-shop instance: {error}") from error

        problem = jssp_problem(instance)
        solution = schedule(problem, time_limit=time_limit, workers=workers)
        violations = check_schedule(problem, solution)
        if violations:
            raise CommandError("the scheduler returned an infeasible schedule:\n"
                               + "\n".join(violations[:20]))
        out = self.stdout
        out.write(f"instance {instance.name}: {len(instance.jobs)} jobs × {instance.machines} "
                  f"machines, {len(problem.operations)} operations")
        out.write(f"time limit {time_limit:g} s, {workers} worker(s); took "
                  f"{solution.wall_time:.2f} s")
        for line in solution.log:
            out.write(line)
        out.write(f"method {solution.method}; heuristic makespan {solution.heuristic_makespan}")
        out.write("checked: every job in order, one operation per machine at a time")
        out.write(f"makespan {solution.makespan}")
