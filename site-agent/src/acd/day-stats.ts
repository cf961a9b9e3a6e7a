import type { Clock } from '@ccfed/common';

export interface SkillDayFigures {
  offered: number;
  answered: number;
  answeredWithinThreshold: number;
  abandoned: number;
}

/**
 * Per-skill counts since the start of the site's local day (the site's own time zone), which is
 * what a supervisor's "service level today" means. Resets itself at local midnight.
 */
export class DayStats {
  private day = '';
  private figures = new Map<string, SkillDayFigures>();
  private readonly dayOf: (ms: number) => string;

  constructor(
    private readonly clock: Clock,
    timezone: string,
  ) {
    const fmt = new Intl.DateTimeFormat('en-CA', {
      timeZone: timezone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    this.dayOf = (ms) => fmt.format(ms);
  }

  offered(skill: string): void {
    this.of(skill).offered++;
  }

  answered(skill: string, waitedMs: number, thresholdMs: number): void {
    const f = this.of(skill);
    f.answered++;
    if (waitedMs <= thresholdMs) f.answeredWithinThreshold++;
  }

  abandoned(skill: string): void {
    this.of(skill).abandoned++;
  }

  /** Today's figures for a skill (zeros when nothing happened yet today). */
  forSkill(skill: string): Readonly<SkillDayFigures> {
    return this.of(skill);
  }

  private of(skill: string): SkillDayFigures {
    const today = this.dayOf(this.clock.now());
    if (today !== this.day) {
      this.day = today;
      this.figures = new Map();
    }
    let f = this.figures.get(skill);
    if (!f) {
      f = { offered: 0, answered: 0, answeredWithinThreshold: 0, abandoned: 0 };
      this.figures.set(skill, f);
    }
    return f;
  }
}
